#!/usr/bin/env node
// `diyc-rm`, from @diyc/run.
import '@diyc/run/bin/diyc-rm.js';

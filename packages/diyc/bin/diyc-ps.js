#!/usr/bin/env node
// `diyc-ps`, from @diyc/run.
import '@diyc/run/bin/diyc-ps.js';

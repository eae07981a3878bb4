#!/usr/bin/env node
// `diyc-run`, from @diyc/run.
import '@diyc/run/bin/diyc-run.js';

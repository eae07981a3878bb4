#!/usr/bin/env node
// `diyc-logs`, from @diyc/run.
import '@diyc/run/bin/diyc-logs.js';

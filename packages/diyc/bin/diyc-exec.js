#!/usr/bin/env node
// `diyc-exec`, from @diyc/run.
import '@diyc/run/bin/diyc-exec.js';

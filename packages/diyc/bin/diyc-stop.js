#!/usr/bin/env node
// `diyc-stop`, from @diyc/run.
import '@diyc/run/bin/diyc-stop.js';

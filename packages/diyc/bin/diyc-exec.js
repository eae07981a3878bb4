#!/usr/bin/env node
// `diyc-exec`, from @diyc/run.
require('@diyc/run/bin/diyc-exec.js');

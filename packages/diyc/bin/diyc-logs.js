#!/usr/bin/env node
// `diyc-logs`, from @diyc/run.
require('@diyc/run/bin/diyc-logs.js');

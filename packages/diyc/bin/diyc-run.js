#!/usr/bin/env node
// `diyc-run`, from @diyc/run.
require('@diyc/run/bin/diyc-run.js');

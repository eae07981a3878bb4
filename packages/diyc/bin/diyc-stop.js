#!/usr/bin/env node
// `diyc-stop`, from @diyc/run.
require('@diyc/run/bin/diyc-stop.js');

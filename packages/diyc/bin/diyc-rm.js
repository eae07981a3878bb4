#!/usr/bin/env node
// `diyc-rm`, from @diyc/run.
require('@diyc/run/bin/diyc-rm.js');

#!/usr/bin/env node
// `diyc-ps`, from @diyc/run.
require('@diyc/run/bin/diyc-ps.js');

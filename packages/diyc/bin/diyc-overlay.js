#!/usr/bin/env node
// `diyc-overlay`, from @diyc/overlay.
require('@diyc/overlay/bin/diyc-overlay.js');

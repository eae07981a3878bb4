#!/usr/bin/env node
// `diyc-overlay`, from @diyc/overlay.
import '@diyc/overlay/bin/diyc-overlay.js';

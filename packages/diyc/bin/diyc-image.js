#!/usr/bin/env node
// `diyc-image`, from @diyc/image.
import '@diyc/image/bin/diyc-image.js';

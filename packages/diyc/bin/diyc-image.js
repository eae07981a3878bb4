#!/usr/bin/env node
// `diyc-image`, from @diyc/image.
require('@diyc/image/bin/diyc-image.js');

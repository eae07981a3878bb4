#!/usr/bin/env node
// `diyc-net`, from @diyc/net.
require('@diyc/net/bin/diyc-net.js');

#!/usr/bin/env node
// `diyc-net`, from @diyc/net.
import '@diyc/net/bin/diyc-net.js';

#!/usr/bin/env node
// `nsexec`, from @diyc/nsexec.
require('@diyc/nsexec/bin/nsexec.js');

#!/usr/bin/env node
// `nsexec`, from @diyc/nsexec.
import '@diyc/nsexec/bin/nsexec.js';

#!/usr/bin/env node
// `diyc-cgroup`, from @diyc/cgroup.
import '@diyc/cgroup/bin/diyc-cgroup.js';

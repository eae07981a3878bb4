#!/usr/bin/env node
// `diyc-cgroup`, from @diyc/cgroup.
require('@diyc/cgroup/bin/diyc-cgroup.js');

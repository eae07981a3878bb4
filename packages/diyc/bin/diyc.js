#!/usr/bin/env node
// `diyc`, from @diyc/docker.
require('@diyc/docker/bin/diyc.js');

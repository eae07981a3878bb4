#!/usr/bin/env node
// `diyc-oci`, from @diyc/oci.
require('@diyc/oci/bin/diyc-oci.js');

#!/usr/bin/env node
// `diyc-oci`, from @diyc/oci.
import '@diyc/oci/bin/diyc-oci.js';

{
  "targets": [
    {
      "target_name": "diyc_syscalls",
      "sources": [
        "src/native/addon.cc",
        "src/native/child.cc",
        "src/native/digest.cc",
        "src/native/relay.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS",
        "_GNU_SOURCE",
        "<!@(node native-config.cjs defines)"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Wno-missing-field-initializers"
      ],
      "libraries": [
        "<!@(node native-config.cjs libraries)"
      ]
    },
    {
      "target_name": "diyc-init",
      "type": "executable",
      "sources": ["src/native/init.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "diyc-shim",
      "type": "executable",
      "sources": ["src/native/shim.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "diyc-oci-front",
      "type": "executable",
      "sources": ["src/native/oci-front.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "ldflags": ["-static", "-s"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "strait_fastpath",
      "sources": ["src/binding.c", "src/core.c", "src/udp_relay.c", "src/tls.c", "src/tls_binding.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources!": ["src/binding.c", "src/core.c", "src/udp_relay.c", "src/tls.c", "src/tls_binding.c"] }]
      ]
    }
  ]
}

# Builds the native engine. Kernels for each instruction set compile in their own static library
# with that ISA's flags (native/isa/<isa>/*.cpp); cpu.cpp picks one at run time, so one build
# runs on any x86-64 and uses AVX-512 where the CPU has it.
{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-O2"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "-Wall", "-Wno-unused-parameter"],
    "cflags!": ["-O2"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
  },
  "targets": [
    {
      "target_name": "kernels_avx512",
      "type": "static_library",
      "sources": ["<!@(node -e \"const f=require('fs');console.log(f.readdirSync('native/isa/avx512').filter(x=>x.endsWith('.cpp')).map(x=>'native/isa/avx512/'+x).join(' '))\")"],
      "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma", "-mf16c", "-fPIC"]
    },
    {
      "target_name": "kernels_avx2",
      "type": "static_library",
      "sources": ["<!@(node -e \"const f=require('fs');console.log(f.readdirSync('native/isa/avx2').filter(x=>x.endsWith('.cpp')).map(x=>'native/isa/avx2/'+x).join(' '))\")"],
      "cflags_cc": ["-mavx2", "-mfma", "-mf16c", "-fPIC"]
    },
    {
      "target_name": "kernels_amx",
      "type": "static_library",
      "sources": ["<!@(node -e \"const f=require('fs');console.log(f.readdirSync('native/isa/amx').filter(x=>x.endsWith('.cpp')).map(x=>'native/isa/amx/'+x).join(' '))\")"],
      "cflags_cc": ["-mamx-tile", "-mamx-bf16", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mfma", "-fPIC"]
    },
    {
      "target_name": "kernels_scalar",
      "type": "static_library",
      "sources": ["<!@(node -e \"const f=require('fs');console.log(f.readdirSync('native/isa/scalar').filter(x=>x.endsWith('.cpp')).map(x=>'native/isa/scalar/'+x).join(' '))\")"],
      "cflags_cc": ["-fPIC"]
    },
    {
      "target_name": "distill_native",
      "dependencies": ["kernels_avx512", "kernels_avx2", "kernels_amx", "kernels_scalar"],
      "sources": ["<!@(node -e \"const f=require('fs');console.log(f.readdirSync('native').filter(x=>x.endsWith('.cpp')).map(x=>'native/'+x).join(' '))\")"],
      "libraries": ["-lpthread"]
    }
  ]
}

# gpu_deps.sh — sourced by bench/train_gpu/run.sh and bench/generate_gpu/run.sh on the device
# machine: elm's C build dependencies from the .debs/ that prepare.sh staged, unpacked under
# /tmp/elmdeps with their pkg-config prefixes rewritten (the system's are used when present);
# sets PREFIX for cmake. Then prints the GPU (nvidia-smi) into $OUT/gpu.txt.
if [ -d .debs ] && ls .debs/*.deb >/dev/null 2>&1; then
  D=/tmp/elmdeps
  if [ ! -d $D ]; then
    mkdir -p $D
    for f in .debs/*.deb; do dpkg -x "$f" $D; done
    # prefix=/usr and hard-coded /usr/... paths (libcjson's includedir) move under $D
    find $D -name '*.pc' -exec sed -i "s|^prefix=/usr\$|prefix=$D/usr|; s|=/usr/|=$D/usr/|g; s|-I/usr/|-I$D/usr/|g" {} +
  fi
  export PATH="$PATH:$D/usr/bin"
  command -v pkg-config >/dev/null || ln -sf $D/usr/bin/pkgconf $D/usr/bin/pkg-config
  export PKG_CONFIG_PATH="$D/usr/lib/x86_64-linux-gnu/pkgconfig:$D/usr/share/pkgconfig:${PKG_CONFIG_PATH:-}"
  export LD_LIBRARY_PATH="$D/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  PREFIX="-DCMAKE_PREFIX_PATH=$D/usr"
fi

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv \
  | tee "$OUT/gpu.txt"

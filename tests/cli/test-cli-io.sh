#!/bin/bash
# test-cli-io.sh CLI — info, convert, crop, resample: exit 0 ok, 1 bad usage, 2 bad input, one
# clear line on stderr. Prints TAP. Real data from $TB_SHARED_DATA where present.
CLI="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0
fail=0

# check NAME WANT_RC GREP_PATTERN (matched in stdout+stderr) -- COMMAND...
check () {
  local name="$1" want="$2" pattern="$3"
  shift 4
  n=$((n + 1))
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  local lines
  lines=$(wc -l <"$T/err")
  if [ "$rc" -ne "$want" ]; then
    echo "not ok $n - $name: exit $rc, want $want"; sed 's/^/# /' "$T/err"; fail=1
  elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$T/out" "$T/err"; then
    echo "not ok $n - $name: output lacks '$pattern'"; sed 's/^/# /' "$T/out" "$T/err"; fail=1
  elif [ "$want" -ne 0 ] && [ "$lines" -ne 1 ]; then
    echo "not ok $n - $name: $lines lines on stderr, want one"; sed 's/^/# /' "$T/err"; fail=1
  else
    echo "ok $n - $name"; sed 's/^/# /' "$T/err" | head -2
  fi
}

skip () {
  n=$((n + 1)); echo "ok $n - $1 # SKIP $2"
}

D="$TB_SHARED_DATA"
MICRO="$D/microct/LHDL_3155_D_4_bc_uint8_200x200x200_19.5um.tif"
CT="$D/clinical_ct/example_ct.nii.gz"
SEG="$D/hrpqct/test25a.nii"

# --- usage errors: exit 1 ---
check "info without FILE" 1 "expected one FILE" -- "$CLI" info
check "convert without OUT" 1 "expected IN and OUT" -- "$CLI" convert in.tif
check "convert unknown option" 1 "Unknown option" -- "$CLI" convert --bogus a b
check "crop needs a box" 1 "either --box" -- "$CLI" crop a.tif b.tif
check "crop bad box" 1 "six integers" -- "$CLI" crop a.tif b.tif --box 1,2,3
check "crop box and centre" 1 "either --box" -- "$CLI" crop a.tif b.tif --box 0,0,0,1,1,1 --centre-mm 0,0,0 --size-mm 1,1,1
check "resample needs one of" 1 "either --spacing or --factor" -- "$CLI" resample a.tif b.tif
check "resample bad factor" 1 "up:N or down:N" -- "$CLI" resample a.tif b.tif --factor sideways:2
check "resample bad spacing" 1 "S or SX,SY,SZ" -- "$CLI" resample a.tif b.tif --spacing -1
check "bad input spacing" 1 "input-spacing" -- "$CLI" info --input-spacing 0,0 x.tif
for c in info convert crop resample; do
  check "$c --help" 0 "Usage" -- "$CLI" $c --help
done

# --- bad input: exit 2 ---
check "info missing file" 2 "does not exist" -- "$CLI" info "$T/none.tif"
: >"$T/empty.nii"
check "info empty file" 2 "empty" -- "$CLI" info "$T/empty.nii"
echo "just text" >"$T/text.tif"
check "info not an image" 2 "not an image" -- "$CLI" info "$T/text.tif"
printf 'NDims = 3\nDimSize = 2 2 2\nElementType = MET_FANCY\nElementDataFile = x.raw\n' >"$T/bad.mhd"
check "info unknown MetaImage type" 2 "MET_FANCY" -- "$CLI" info "$T/bad.mhd"

if [ -f "$SEG" ]; then
  check "convert to a bad extension" 2 "end the name with" -- "$CLI" convert "$SEG" "$T/out.png"
  check "convert bad --type" 1 "float32, uint16 or uint8" -- "$CLI" convert "$SEG" "$T/out.tif" --type int64
  check "convert into a missing folder" 2 "Cannot write" -- "$CLI" convert "$SEG" "$T/no/such/dir/out.tif"
  check "crop outside" 2 "not inside" -- "$CLI" crop "$SEG" "$T/c.tif" --box 20,20,20,10,10,10
  # --- good runs: exit 0, results checked with info ---
  check "convert nii -> uint8 tif" 0 "wrote" -- "$CLI" convert "$SEG" "$T/seg.tif" --type uint8
  check "info of the written tif" 0 "Mean:     57.6031" -- "$CLI" info "$T/seg.tif"
  check "its spacing came from ImageJ" 0 "from ImageJ metadata" -- "$CLI" info "$T/seg.tif"
  check "crop box" 0 "10 x 5 x 3 voxels" -- "$CLI" crop "$SEG" "$T/crop.nii.gz" --box 2,3,4,10,5,3
  check "crop by mm" 0 "wrote" -- "$CLI" crop "$SEG" "$T/cropmm.tif" --centre-mm 7.1,7.7,2.2 --size-mm 0.34,0.34,0.34
  check "resample down:5 keeps the mean" 0 "wrote" -- "$CLI" resample "$SEG" "$T/down.nii" --factor down:5
  # 7087 * 127 / 15625 = 57.60313..., the box mean over all voxels is exact
  check "mean of the downscaled" 0 "Mean:     57.6031" -- "$CLI" info "$T/down.nii"
  check "resample up:2" 0 "50 x 50 x 50" -- "$CLI" resample "$SEG" "$T/up.tif" --factor up:2
  check "resample to spacing" 0 "wrote" -- "$CLI" resample "$SEG" "$T/rs.nii.gz" --spacing 0.068
else
  for i in $(seq 13); do skip "test25a.nii cases" "$SEG absent"; done
fi

if [ -f "$MICRO" ]; then
  check "info micro-CT" 0 "200 x 200 x 200 uint8" -- "$CLI" info "$MICRO"
  check "info micro-CT mean" 0 "Mean:     46.98723" -- "$CLI" info "$MICRO"
else
  skip "info micro-CT" "absent"; skip "info micro-CT mean" "absent"
fi
if [ -f "$CT" ]; then
  check "info clinical CT" 0 "Range:    -1207 .. 3382" -- "$CLI" info "$CT"
  check "its spacing source" 0 "from NIfTI sform" -- "$CLI" info "$CT"
else
  skip "info clinical CT" "absent"; skip "its spacing source" "absent"
fi

echo "1..$n"
exit $fail

;; The collector's line scanner (line-scan.ts): finds, 16 bytes at a time, the only positions of
;; a chunk of log lines that can matter to the plain fast path, so JavaScript looks at a few
;; bytes per line instead of running regular expressions over every character.
;;
;; A position is reported when its byte is '\n', '@', '[', '<' or non-ASCII, or when the three
;; bytes starting there pass one of eight "Teddy" buckets (Hyperscan's multi-literal filter):
;; for each of the three bytes, a 16-entry table indexed by its low nibble and one indexed by its
;; high nibble give the buckets it may belong to; a position is reported when one bucket holds
;; all three. The tables come from line-scan.ts (the words to look for); the filter may report
;; positions that match no word, never misses one.
;;
;; Memory: tables at 0 (low/high nibble tables for bytes 0, 1, 2: 6 x 16 bytes), the input at
;; 128 (at most 65,536 bytes, then 32 bytes the scan zeroes), the reported positions (u32) at
;; 65,792. Rebuild line-scan-wasm.ts after a change: `npm run build:wasm`.
(module
  (memory (export "memory") 6)

  ;; Scans input[0, len) and returns how many positions it wrote at 65,792, in increasing order.
  (func (export "scan") (param $len i32) (result i32)
    (local $i i32) (local $n i32) (local $bits i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $m v128)
    (local $nibble v128)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128) (local $lo2 v128) (local $hi2 v128)
    (local.set $nibble (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $lo0 (v128.load (i32.const 0)))
    (local.set $hi0 (v128.load (i32.const 16)))
    (local.set $lo1 (v128.load (i32.const 32)))
    (local.set $hi1 (v128.load (i32.const 48)))
    (local.set $lo2 (v128.load (i32.const 64)))
    (local.set $hi2 (v128.load (i32.const 80)))
    ;; Bytes past the end match nothing: the last block and its two shifted loads read into them.
    (v128.store offset=128 (local.get $len) (v128.const i64x2 0 0))
    (v128.store offset=144 (local.get $len) (v128.const i64x2 0 0))
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $v0 (v128.load offset=128 (local.get $i)))
        (local.set $v1 (v128.load offset=129 (local.get $i)))
        (local.set $v2 (v128.load offset=130 (local.get $i)))
        (local.set $m
          (v128.or
            (v128.or
              (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10))
                       (i8x16.eq (local.get $v0) (v128.const i8x16 64 64 64 64 64 64 64 64 64 64 64 64 64 64 64 64)))
              (v128.or (i8x16.eq (local.get $v0) (v128.const i8x16 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91 91))
                       (i8x16.eq (local.get $v0) (v128.const i8x16 60 60 60 60 60 60 60 60 60 60 60 60 60 60 60 60))))
            (v128.or
              (i8x16.lt_s (local.get $v0) (v128.const i64x2 0 0))
              (i8x16.ne
                ;; Written out three times: V8 (Node 20) does not inline WebAssembly calls, and a call per block doubled the scan's time.
                (v128.and
                  (v128.and
                    (v128.and
                      (i8x16.swizzle (local.get $lo0) (v128.and (local.get $v0) (local.get $nibble)))
                      (i8x16.swizzle (local.get $hi0) (i8x16.shr_u (local.get $v0) (i32.const 4))))
                    (v128.and
                      (i8x16.swizzle (local.get $lo1) (v128.and (local.get $v1) (local.get $nibble)))
                      (i8x16.swizzle (local.get $hi1) (i8x16.shr_u (local.get $v1) (i32.const 4)))))
                  (v128.and
                    (i8x16.swizzle (local.get $lo2) (v128.and (local.get $v2) (local.get $nibble)))
                    (i8x16.swizzle (local.get $hi2) (i8x16.shr_u (local.get $v2) (i32.const 4)))))
                (v128.const i64x2 0 0)))))
        (local.set $bits (i8x16.bitmask (local.get $m)))
        (block $written
          (loop $bit
            (br_if $written (i32.eqz (local.get $bits)))
            (i32.store offset=65792
              (i32.shl (local.get $n) (i32.const 2))
              (i32.add (local.get $i) (i32.ctz (local.get $bits))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
            (br $bit)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $block)))
    (local.get $n)))

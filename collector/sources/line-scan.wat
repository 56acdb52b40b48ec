;; The collector's plain fast path in WebAssembly (line-scan.ts holds the why and the JavaScript
;; half). Two functions over one chunk of log lines copied into this memory:
;;
;; scan: finds, 16 bytes at a time, the only positions that can matter: '\n', '@', '[', '<',
;; non-ASCII bytes, and positions whose three bytes pass one of eight "Teddy" buckets
;; (Hyperscan's multi-literal filter): for each of the three bytes, a 16-entry table indexed by
;; its low nibble and one indexed by its high nibble give the buckets it may belong to; a
;; position is reported when one bucket holds all three. The tables come from line-scan.ts (the
;; words to look for); the filter may report positions that match no word, never misses one.
;;
;; classify: walks the reported positions and gives each line ending in the chunk its verdict:
;; the index of its severity, or -1 where the string path must decide (a secret word anywhere, a
;; '@' when e-mail addresses are redacted, '[', '<', "level" or a non-ASCII byte in the head).
;; Words are looked up by their first two bytes in two tables of word lists (secret words, lower
;; case, compared in any case; upper-case level words, compared exactly, whole words only).
;;
;; records: writes the OTLP LogRecord fields (ScopeLogs.log_records) of a run of lines whose
;; verdicts line-scan.ts set, exactly as EncodedLogsBuilder.addPlain writes them: one call per
;; run instead of per-line copies from JavaScript.
;;
;; Memory (bytes; line-scan.ts has the same constants):
;;        0  nibble tables for bytes 0, 1, 2 of a position (low, high: 6 x 16)
;;      128  severity prefixes by verdict: 8 x 16 (length byte, then the fields)
;;      256  the observed time (fixed64, little-endian)
;;      264  "pharos.seq"
;;      288  the level anchor as a word-list entry (matched in any case)
;;      512  the input chunk (at most 65,536 bytes, then 32 bytes scan zeroes)
;;   66,560  reported positions (u32 x 65,536)
;;  328,704  line ends: the position of each line's '\n' (u32 x 65,536)
;;  590,848  verdicts (u8 x 65,536)
;;  656,384  the file's attribute fields (at most 4,096 bytes)
;;  660,480  record ends, relative to the record area (u32 x 65,536)
;;  922,624  the record area (1 MiB)
;; 2,031,616  secret words by their first two bytes, lower case: u16 x 65,536, each 0 or the
;;            offset of its word list in the word area
;; 2,162,688  upper-case level words by their first two bytes: the same
;; 2,293,760  the word area (at most 8,192 bytes): word lists, each entry 50 bytes (its word's
;;            length, a verdict, then 16 bytes each of: the word padded with zeroes, its case
;;            bits, its length mask); a list ends with a 0 length
;; Rebuild line-scan-wasm.ts after a change: `npm run gen:wasm`.
(module
  (memory (export "memory") 36)
  (data (i32.const 264) "pharos.seq")

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
    (v128.store offset=512 (local.get $len) (v128.const i64x2 0 0))
    (v128.store offset=528 (local.get $len) (v128.const i64x2 0 0))
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $v0 (v128.load offset=512 (local.get $i)))
        (local.set $v1 (v128.load offset=513 (local.get $i)))
        (local.set $v2 (v128.load offset=514 (local.get $i)))
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
            (i32.store offset=66560
              (i32.shl (local.get $n) (i32.const 2))
              (i32.add (local.get $i) (i32.ctz (local.get $bits))))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
            (br $bit)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $block)))
    (local.get $n))

  ;; The ASCII letter $b in lower case; other bytes as they are.
  (func $lower (param $b i32) (result i32)
    (i32.or (local.get $b)
      (i32.shl (i32.lt_u (i32.sub (local.get $b) (i32.const 65)) (i32.const 26)) (i32.const 5))))

  ;; 1 for [0-9A-Za-z_].
  (func $isWordByte (param $b i32) (result i32)
    (i32.or
      (i32.or (i32.lt_u (i32.sub (local.get $b) (i32.const 48)) (i32.const 10))
              (i32.lt_u (i32.sub (i32.or (local.get $b) (i32.const 32)) (i32.const 97)) (i32.const 26)))
      (i32.eq (local.get $b) (i32.const 95))))

  ;; 1 when the word of the entry at $w is at input position $p: the 16 bytes there, with the
  ;; entry's case bits set (0x20 where the word has a letter and is matched in any case) and the
  ;; bytes past the word cleared, equal the entry's word. Past the input's end the bytes are 0,
  ;; which no word holds, so a word running past it does not match.
  (func $matches (param $p i32) (param $w i32) (result i32)
    (i8x16.all_true
      (i8x16.eq
        (v128.and
          (v128.or (v128.load offset=512 (local.get $p)) (v128.load offset=18 (local.get $w)))
          (v128.load offset=34 (local.get $w)))
        (v128.load offset=2 (local.get $w)))))

  ;; 1 when a secret word starts at $p.
  (func $secretAt (param $p i32) (result i32)
    (local $w i32)
    (local.set $w
      (i32.load16_u offset=2031616
        (i32.shl
          (i32.or (i32.shl (call $lower (i32.load8_u offset=512 (local.get $p))) (i32.const 8))
                  (call $lower (i32.load8_u offset=513 (local.get $p))))
          (i32.const 1))))
    (if (i32.eqz (local.get $w)) (then (return (i32.const 0))))
    (local.set $w (i32.add (local.get $w) (i32.const 2293760)))
    (block $none
      (loop $word
        (br_if $none (i32.eqz (i32.load8_u (local.get $w))))
        (if (call $matches (local.get $p) (local.get $w)) (then (return (i32.const 1))))
        (local.set $w (i32.add (local.get $w) (i32.const 50)))
        (br $word)))
    (i32.const 0))

  ;; The verdict of an upper-case level word at $p ($offset into its line) as a whole word within
  ;; the head (its first 200 bytes), or -1.
  (func $upperAt (param $p i32) (param $offset i32) (param $len i32) (result i32)
    (local $w i32) (local $n i32) (local $end i32)
    (local.set $w
      (i32.load16_u offset=2162688
        (i32.shl
          (i32.or (i32.shl (i32.load8_u offset=512 (local.get $p)) (i32.const 8))
                  (i32.load8_u offset=513 (local.get $p)))
          (i32.const 1))))
    (if (i32.eqz (local.get $w)) (then (return (i32.const -1))))
    (if (i32.and (i32.gt_u (local.get $offset) (i32.const 0))
                 (call $isWordByte (i32.load8_u offset=511 (local.get $p))))
      (then (return (i32.const -1))))
    (local.set $w (i32.add (local.get $w) (i32.const 2293760)))
    (block $none
      (loop $word
        (local.set $n (i32.load8_u (local.get $w)))
        (br_if $none (i32.eqz (local.get $n)))
        (local.set $end (i32.add (local.get $offset) (local.get $n)))
        ;; A word ending where the head ends ends a word, whatever follows.
        (if (i32.and
              (i32.and (i32.le_u (local.get $end) (i32.const 200)) (call $matches (local.get $p) (local.get $w)))
              (i32.or
                (i32.or (i32.eq (local.get $end) (i32.const 200))
                        (i32.eq (i32.add (local.get $p) (local.get $n)) (local.get $len)))
                (i32.eqz (call $isWordByte (i32.load8_u offset=512 (i32.add (local.get $p) (local.get $n)))))))
          (then (return (i32.load8_u offset=1 (local.get $w)))))
        (local.set $w (i32.add (local.get $w) (i32.const 50)))
        (br $word)))
    (i32.const -1))

  ;; Line ends and verdicts of the chunk of $len bytes from the $n positions scan reported;
  ;; returns the number of lines. $atIsSecret: 1 when a '@' sends a line to the string path.
  (func (export "classify") (param $n i32) (param $len i32) (param $atIsSecret i32) (result i32)
    (local $i i32) (local $p i32) (local $c i32) (local $count i32) (local $lineStart i32)
    (local $toString i32) (local $upper i32) (local $head i32)
    (local.set $upper (i32.const -1))
    (block $done
      (loop $position
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.load offset=66560 (i32.shl (local.get $i) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (local.set $c (i32.load8_u offset=512 (local.get $p)))
        (if (i32.eq (local.get $c) (i32.const 10))
          (then
            (i32.store offset=328704 (i32.shl (local.get $count) (i32.const 2)) (local.get $p))
            (i32.store8 offset=590848 (local.get $count)
              (select (i32.const -1)
                (select (i32.const 0) (local.get $upper) (i32.lt_s (local.get $upper) (i32.const 0)))
                (local.get $toString)))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            (local.set $lineStart (i32.add (local.get $p) (i32.const 1)))
            (local.set $toString (i32.const 0))
            (local.set $upper (i32.const -1))
            (br $position)))
        (br_if $position (local.get $toString))
        (local.set $head (i32.lt_u (i32.sub (local.get $p) (local.get $lineStart)) (i32.const 200)))
        (if (i32.eq (local.get $c) (i32.const 64))
          (then (local.set $toString (local.get $atIsSecret)) (br $position)))
        (if (i32.or (i32.ge_u (local.get $c) (i32.const 128))
                    (i32.or (i32.eq (local.get $c) (i32.const 91)) (i32.eq (local.get $c) (i32.const 60))))
          (then (local.set $toString (local.get $head)) (br $position)))
        (if (call $secretAt (local.get $p))
          (then (local.set $toString (i32.const 1)) (br $position)))
        (br_if $position (i32.eqz (local.get $head)))
        (if (i32.and (i32.eq (i32.or (local.get $c) (i32.const 32)) (i32.const 108))
                     (call $matches (local.get $p) (i32.const 288)))
          (then (local.set $toString (i32.const 1)) (br $position)))
        (if (i32.lt_s (local.get $upper) (i32.const 0))
          (then (local.set $upper (call $upperAt (local.get $p) (i32.sub (local.get $p) (local.get $lineStart)) (local.get $len)))))
        (br $position)))
    (local.get $count))

  ;; Bytes of the varint of $v.
  (func $size32 (param $v i32) (result i32)
    (local $n i32)
    (local.set $n (i32.const 1))
    (block $done
      (loop $more
        (br_if $done (i32.lt_u (local.get $v) (i32.const 128)))
        (local.set $v (i32.shr_u (local.get $v) (i32.const 7)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (local.get $n))

  (func $size64 (param $v i64) (result i32)
    (local $n i32)
    (local.set $n (i32.const 1))
    (block $done
      (loop $more
        (br_if $done (i64.lt_u (local.get $v) (i64.const 128)))
        (local.set $v (i64.shr_u (local.get $v) (i64.const 7)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (local.get $n))

  ;; Writes the varint of $v at $p; returns the position after it.
  (func $varint32 (param $p i32) (param $v i32) (result i32)
    (block $done
      (loop $more
        (br_if $done (i32.lt_u (local.get $v) (i32.const 128)))
        (i32.store8 (local.get $p) (i32.or (i32.and (local.get $v) (i32.const 127)) (i32.const 128)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $v (i32.shr_u (local.get $v) (i32.const 7)))
        (br $more)))
    (i32.store8 (local.get $p) (local.get $v))
    (i32.add (local.get $p) (i32.const 1)))

  (func $varint64 (param $p i32) (param $v i64) (result i32)
    (block $done
      (loop $more
        (br_if $done (i64.lt_u (local.get $v) (i64.const 128)))
        (i64.store8 (local.get $p) (i64.or (i64.and (local.get $v) (i64.const 127)) (i64.const 128)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $v (i64.shr_u (local.get $v) (i64.const 7)))
        (br $more)))
    (i64.store8 (local.get $p) (local.get $v))
    (i32.add (local.get $p) (i32.const 1)))

  ;; Records of lines [$from, $to) of the last scanned chunk; line $from starts at $start. Line i
  ;; gets sequence number $seq + (i - $from), the prefix of its verdict, the $attrLen bytes of
  ;; attribute fields and, when $timed, the observed time. Stops early when the record area is
  ;; full; returns how many lines it wrote, each record's end in the record-ends table.
  (func (export "records") (param $from i32) (param $to i32) (param $start i32) (param $seqf f64) (param $attrLen i32) (param $timed i32) (result i32)
    (local $i i32) (local $p i32) (local $end i32) (local $len i32) (local $prefix i32) (local $prefixLen i32)
    (local $seq i64) (local $seqSize i32) (local $bodyValue i32) (local $recLen i32)
    (local.set $seq (i64.trunc_f64_u (local.get $seqf)))
    (local.set $i (local.get $from))
    (local.set $p (i32.const 922624))
    (block $done
      (loop $line
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (local.set $end (i32.load offset=328704 (i32.shl (local.get $i) (i32.const 2))))
        (local.set $len (i32.sub (local.get $end) (local.get $start)))
        ;; A '\r' before the '\n' is not part of the body.
        (if (i32.and (i32.gt_s (local.get $len) (i32.const 0))
                     (i32.eq (i32.load8_u offset=511 (local.get $end)) (i32.const 13)))
          (then (local.set $len (i32.sub (local.get $len) (i32.const 1)))))
        (local.set $prefix (i32.add (i32.const 128) (i32.shl (i32.load8_u offset=590848 (local.get $i)) (i32.const 4))))
        (local.set $prefixLen (i32.load8_u (local.get $prefix)))
        (local.set $seqSize (call $size64 (local.get $seq)))
        (local.set $bodyValue
          (if (result i32) (local.get $len)
            (then (i32.add (i32.add (i32.const 1) (call $size32 (local.get $len))) (local.get $len)))
            (else (i32.const 0))))
        (local.set $recLen
          (i32.add
            (i32.add (local.get $prefixLen)
              (if (result i32) (local.get $len)
                (then (i32.add (i32.add (i32.const 1) (call $size32 (local.get $bodyValue))) (local.get $bodyValue)))
                (else (i32.const 0))))
            (i32.add
              (i32.add (local.get $attrLen) (i32.add (i32.const 17) (local.get $seqSize)))
              (select (i32.const 9) (i32.const 0) (local.get $timed)))))
        ;; The record with its tag and length must fit before the area's end.
        (br_if $done (i32.gt_u (i32.add (i32.add (local.get $p) (local.get $recLen)) (i32.const 6)) (i32.const 1971200)))
        (i32.store8 (local.get $p) (i32.const 0x12)) ;; ScopeLogs.log_records
        (local.set $p (call $varint32 (i32.add (local.get $p) (i32.const 1)) (local.get $recLen)))
        (memory.copy (local.get $p) (i32.add (local.get $prefix) (i32.const 1)) (local.get $prefixLen))
        (local.set $p (i32.add (local.get $p) (local.get $prefixLen)))
        (if (local.get $len)
          (then
            (i32.store8 (local.get $p) (i32.const 0x2a)) ;; body: AnyValue { string_value }
            (local.set $p (call $varint32 (i32.add (local.get $p) (i32.const 1)) (local.get $bodyValue)))
            (i32.store8 (local.get $p) (i32.const 0x0a))
            (local.set $p (call $varint32 (i32.add (local.get $p) (i32.const 1)) (local.get $len)))
            (memory.copy (local.get $p) (i32.add (i32.const 512) (local.get $start)) (local.get $len))
            (local.set $p (i32.add (local.get $p) (local.get $len)))))
        (memory.copy (local.get $p) (i32.const 656384) (local.get $attrLen))
        (local.set $p (i32.add (local.get $p) (local.get $attrLen)))
        ;; KeyValue { key: "pharos.seq", value: AnyValue { int_value } }
        (i32.store8 (local.get $p) (i32.const 0x32))
        (i32.store8 offset=1 (local.get $p) (i32.add (i32.const 15) (local.get $seqSize)))
        (i32.store8 offset=2 (local.get $p) (i32.const 0x0a))
        (i32.store8 offset=3 (local.get $p) (i32.const 10))
        (memory.copy (i32.add (local.get $p) (i32.const 4)) (i32.const 264) (i32.const 10))
        (i32.store8 offset=14 (local.get $p) (i32.const 0x12))
        (i32.store8 offset=15 (local.get $p) (i32.add (i32.const 1) (local.get $seqSize)))
        (i32.store8 offset=16 (local.get $p) (i32.const 0x18))
        (local.set $p (call $varint64 (i32.add (local.get $p) (i32.const 17)) (local.get $seq)))
        (if (local.get $timed)
          (then
            (i32.store8 (local.get $p) (i32.const 0x59)) ;; observed_time_unix_nano
            (i64.store offset=1 (local.get $p) (i64.load (i32.const 256)))
            (local.set $p (i32.add (local.get $p) (i32.const 9)))))
        (i32.store offset=660480
          (i32.shl (i32.sub (local.get $i) (local.get $from)) (i32.const 2))
          (i32.sub (local.get $p) (i32.const 922624)))
        (local.set $start (i32.add (local.get $end) (i32.const 1)))
        (local.set $seq (i64.add (local.get $seq) (i64.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $line)))
    (i32.sub (local.get $i) (local.get $from))))

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) and the TFRecord "masked" variant that
// TensorBoard event files use. Table-driven, one byte at a time; it does not use SSE4.2.
// Hand-written rather than a package: the one npm package carrying CRC-32C in pure JS (crc-32,
// `crc-32/crc32c.js`) ships no types for that entry point and returns signed ints; this is 20 lines.

const CASTAGNOLI_REFLECTED = 0x82f63b78;

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI_REFLECTED : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `bytes` as an unsigned 32-bit integer; crc32c("123456789") = 0xE3069283. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The TFRecord mask: rotate right by 15 bits, then add 0xa282ead8 (mod 2^32). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** maskCrc(crc32c(bytes)): the checksum stored in TFRecord / tfevents framing. */
export function maskedCrc32c(bytes: Uint8Array): number {
  return maskCrc(crc32c(bytes));
}

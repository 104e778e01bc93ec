/**
 * A set of 64-bit fingerprints in typed arrays: about 16 bytes per entry
 * instead of ~100 for a Set of strings, so duplicate detection over a million
 * users stays a few megabytes. Collisions at 64 bits are negligible here
 * (about 1 in 10^7 for a million keys).
 */
export class FingerprintSet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private used: Uint8Array;
  private count = 0;

  constructor(capacity = 1024) {
    let cap = 1024;
    while (cap < capacity * 2) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.used = new Uint8Array(cap);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the key; returns false when it was already there. */
  add(key: string): boolean {
    const [h, l] = fingerprint(key);
    if (this.count * 2 >= this.used.length) this.grow();
    return this.insert(h, l);
  }

  has(key: string): boolean {
    const [h, l] = fingerprint(key);
    const mask = this.used.length - 1;
    for (let i = l & mask; this.used[i]; i = (i + 1) & mask) {
      if (this.hi[i] === h && this.lo[i] === l) return true;
    }
    return false;
  }

  private insert(h: number, l: number): boolean {
    const mask = this.used.length - 1;
    let i = l & mask;
    for (; this.used[i]; i = (i + 1) & mask) {
      if (this.hi[i] === h && this.lo[i] === l) return false;
    }
    this.used[i] = 1;
    this.hi[i] = h;
    this.lo[i] = l;
    this.count += 1;
    return true;
  }

  private grow(): void {
    const { hi, lo, used } = this;
    this.hi = new Uint32Array(used.length * 2);
    this.lo = new Uint32Array(used.length * 2);
    this.used = new Uint8Array(used.length * 2);
    this.count = 0;
    for (let i = 0; i < used.length; i++) if (used[i]) this.insert(hi[i]!, lo[i]!);
  }
}

/**
 * Two independent 32-bit FNV-1a style hashes over the UTF-16 code units,
 * computed in plain JS: no native hash object per key, so a million rows
 * leave no garbage behind but numbers.
 */
function fingerprint(key: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return [h1 >>> 0, h2 >>> 0];
}

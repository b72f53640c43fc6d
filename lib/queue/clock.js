"use strict";
// The clock clients and workers compare deadlines on: Redis's. A call's deadline is written by
// its client and read by whichever worker takes it, often on another machine; their own clocks
// may disagree by seconds or more, which would make a worker refuse a call with time left or run
// one past its deadline. Each side learns once (and again every minute) how far its clock is from
// Redis's `TIME`, halving the round trip, and states deadlines on Redis's clock.

const RESYNC_MS = 60_000;
const MAX_ROUND_TRIP_MS = 1000;

class RedisClock {
  #redis;
  #offset = 0;
  #timer;
  #syncing = false;

  constructor(redis) {
    this.#redis = redis;
  }

  /** Measures the offset now and then every minute; a failed measurement keeps the last one. */
  async start() {
    await this.sync();
    this.#timer = setInterval(() => void this.sync(), RESYNC_MS);
    this.#timer.unref();
    return this;
  }

  async sync() {
    if (this.#syncing) return;
    this.#syncing = true;
    try {
      const before = Date.now();
      const [seconds, micros] = await this.#redis.time();
      const after = Date.now();
      // A slow answer (a command queued while Redis was away, a stalled event loop) says little
      // about when Redis read its clock: keep the last offset.
      if (after - before <= MAX_ROUND_TRIP_MS) {
        this.#offset = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - Math.round((before + after) / 2);
      }
    } catch {
      // Redis is away: the last offset stays, and the next sync tries again.
    } finally {
      this.#syncing = false;
    }
  }

  /** Milliseconds since the epoch on Redis's clock. */
  now() {
    return Date.now() + this.#offset;
  }

  stop() {
    clearInterval(this.#timer);
  }
}

module.exports = { RedisClock };

// What `start` writes down the start FIFO (child.cc reads it): one byte, and for the
// startContainer hooks the state behind it, its length first.
import { describe, expect, it } from 'vitest';
import { startMessage } from '../src/start.js';

describe('startMessage', () => {
  it('is a 0 alone when no hook needs the state', () => {
    expect(startMessage(undefined)).toEqual(Buffer.from([0]));
  });

  it("is a 1, the JSON's length in this machine's order, then the JSON", () => {
    const state = { ociVersion: '1.2.0', id: 'box', status: 'created', pid: 42, bundle: '/b', note: 'é' };
    const message = startMessage(state);
    const json = Buffer.from(JSON.stringify(state));
    expect(message[0]).toBe(1);
    const length = new Uint32Array(new Uint8Array(message.subarray(1, 5)).buffer)[0];
    expect(length).toBe(json.length);
    expect(message.subarray(5)).toEqual(json);
  });
});

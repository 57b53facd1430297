import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { crc32Final, crc32OfString, crc32UpdateWord, CRC32_INITIAL_STATE } from './crc32';
import { seededRandom } from './test-support';

describe('crc32OfString', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32OfString('123456789'), 0xcbf43926);
    assert.equal(crc32OfString(''), 0);
    assert.equal(crc32OfString('a'), 0xe8b7be43);
  });

  it('agrees with zlib over the UTF-8 bytes of random text, including non-ASCII', () => {
    const random = seededRandom(5);
    const samples = [
      '127.0.0.1',
      'mqtt-client-ü',
      '键值',
      'emoji 😀',
      'lone \ud800 surrogate',
      '\0\0',
    ];
    for (let round = 0; round < 500; round++) {
      let text = '';
      const length = Math.floor(random() * 30);
      for (let index = 0; index < length; index++) {
        text += String.fromCharCode(
          random() < 0.8 ? Math.floor(random() * 128) : Math.floor(random() * 0xd7ff),
        );
      }
      samples.push(text);
    }
    for (const text of samples) {
      assert.equal(crc32OfString(text), crc32(Buffer.from(text, 'utf8')), JSON.stringify(text));
    }
  });

  it('continues a state over a little-endian word like crc32 over the bytes', () => {
    const state = crc32UpdateWord(CRC32_INITIAL_STATE, 0x04030201);
    assert.equal(crc32Final(state), crc32(Buffer.from([1, 2, 3, 4])));
  });
});

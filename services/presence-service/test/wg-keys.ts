/** Real WireGuard public keys (wg genkey | wg pubkey) for unit tests; no private key goes with them. */
export const KEY = {
  server: 'u73Ft2MqwXo7ZxNAcLhll3UGp5qddFgIcV8/ETj/Hx8=',
  laptop: '8qJ0HLdCJ8KBgm6luPWisCZVDDPmKEYS1mA6Dd4e+3g=',
  phone: 'YwTyLAcTFlbq8cmPdAjslMbJYDVEbyiB3t2iOwpbzC8=',
  office: 'XgbJchdsYV8wvieb3KcyPW3bNNXDT1b08IqU0l/Rv2A=',
  router: 'ZJzm8dGJa3IEj/vmdTueO/iukrmb4PNdATwsF954KVE=',
} as const;

/** A `wg show all dump` line from its fields (tab-separated, as wg(8) prints them). */
export const dumpLine = (...fields: (string | number)[]): string => fields.join('\t');

// Peer names from wg-quick configs: the convention of wg-easy, wireguard_webadmin
// and the HADDNS seed is a "# Name = laptop" comment right above a peer's [Peer] header.
//
//   # Name = laptop
//   [Peer]
//   PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=

const SECTION = /^\s*\[\s*([A-Za-z]+)\s*\]\s*$/;
const NAME_COMMENT = /^\s*[#;]\s*name\s*=\s*(.*?)\s*$/i;
const PUBLIC_KEY = /^\s*publickey\s*=\s*(\S+)\s*$/i;

/** Public key -> the name given in the comment above its [Peer]. Peers without one are absent. */
export function peerNamesFromWgQuick(text: string): Map<string, string> {
  const names = new Map<string, string>();
  let pendingName: string | null = null;
  let sectionName: string | null = null;
  let inPeer = false;
  for (const line of text.split(/\r?\n/)) {
    const comment = NAME_COMMENT.exec(line);
    if (comment) {
      pendingName = comment[1] === '' ? null : (comment[1] ?? null);
      continue;
    }
    const section = SECTION.exec(line);
    if (section) {
      inPeer = section[1]?.toLowerCase() === 'peer';
      sectionName = inPeer ? pendingName : null;
      pendingName = null;
      continue;
    }
    const publicKey = PUBLIC_KEY.exec(line);
    if (publicKey && inPeer && sectionName !== null && publicKey[1] !== undefined) names.set(publicKey[1], sectionName);
  }
  return names;
}

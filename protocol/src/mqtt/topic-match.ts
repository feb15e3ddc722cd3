/**
 * MQTT topic-filter matching, as a broker does it, so a client can route the messages of several
 * subscriptions arriving on one connection. A shared-subscription filter (`$share/<group>/<filter>`)
 * matches what its inner filter matches.
 */

/** Strips a `$share/<group>/` prefix, returning the filter the broker matches topics against. */
export function innerFilter(filter: string): string {
  if (!filter.startsWith('$share/')) return filter;
  const slash = filter.indexOf('/', '$share/'.length);
  return slash < 0 ? filter : filter.slice(slash + 1);
}

/** True when `topic` (no wildcards) matches `filter` (with `+` and a trailing `#`). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = innerFilter(filter);
  if (f === topic) return true;
  // Topics starting with '$' are not matched by filters starting with a wildcard (MQTT 4.7.2).
  if (topic.startsWith('$') && (f.startsWith('+') || f.startsWith('#'))) return false;
  const fl = f.split('/');
  const tl = topic.split('/');
  for (let i = 0; i < fl.length; i++) {
    const level = fl[i];
    if (level === '#') return i === fl.length - 1;
    if (i >= tl.length) return false;
    if (level !== '+' && level !== tl[i]) return false;
  }
  return fl.length === tl.length;
}

/** True when a topic name is valid for publishing: non-empty, no wildcards, no NUL, at most 65535 bytes. */
export function isPublishTopic(topic: string): boolean {
  return (
    topic.length > 0 &&
    !topic.includes('+') &&
    !topic.includes('#') &&
    !topic.includes('\u0000') &&
    Buffer.byteLength(topic, 'utf8') <= 65535
  );
}

// Did-you-mean: the known name a user most likely meant by an unknown one, when it is
// close enough to be a slip (git's "The most similar command is", docker's "did you mean").

/**
 * Edit distance with adjacent swaps counting one (optimal string alignment): `detatch` is
 * one from `detach`, `stauts` one from `status`.
 */
export function editDistance(a: string, b: string): number {
  // Three rows of the table: the distances from a's first i-2, i-1 and i letters to each
  // prefix of b.
  let before: number[] = [];
  let above = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((above[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (above[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      row.push(d);
    }
    [before, above] = [above, row];
  }
  return above[b.length] ?? 0;
}

const normal = (name: string): string => name.toLowerCase().replace(/_/g, '-');

/**
 * The name in `names` closest to `word`, or undefined when none is close: a typo (an edit
 * distance of at most a third of the word, and at least one), or a longer or shorter form
 * of a name (`memory` for `mem`, `stat` for `state`; three letters at least). On a tie, a
 * longer or shorter form wins (`stat` is `state`, not `start`), then the first name.
 */
export function closest(word: string, names: Iterable<string>): string | undefined {
  const w = normal(word);
  const allowed = Math.max(1, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestScore = Infinity;
  for (const name of names) {
    const n = normal(name);
    const distance = editDistance(w, n);
    const form = Math.min(w.length, n.length) >= 3 && (w.startsWith(n) || n.startsWith(w));
    if (distance > allowed && !form) continue;
    const score = distance * 2 + (form ? 0 : 1);
    if (score < bestScore) {
      best = name;
      bestScore = score;
    }
  }
  return best;
}

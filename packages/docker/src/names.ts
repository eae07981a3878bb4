// The name a container gets when `--name` is not given, as docker makes one
// (moby's pkg/namesgenerator): an adjective and the surname of a scientist or engineer,
// joined by '_', `focused_lovelace`. docker never gives `boring_wozniak`, and neither do we
// ("Steve Wozniak is not boring"). A name already taken gets a digit, as docker retries.

const LEFT = [
  'admiring', 'adoring', 'affectionate', 'agitated', 'amazing', 'angry', 'awesome', 'beautiful', 'blissful', 'bold',
  'boring', 'brave', 'busy', 'charming', 'clever', 'compassionate', 'competent', 'condescending', 'confident', 'cool',
  'cranky', 'crazy', 'dazzling', 'determined', 'distracted', 'dreamy', 'eager', 'ecstatic', 'elastic', 'elated',
  'elegant', 'eloquent', 'epic', 'exciting', 'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty',
  'funny', 'gallant', 'gifted', 'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful',
  'hungry', 'infallible', 'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing',
  'loving', 'lucid', 'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty',
  'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless', 'quirky', 'quizzical',
  'recursing', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp', 'silly', 'sleepy', 'stoic',
  'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty', 'trusting', 'unruffled', 'upbeat', 'vibrant',
  'vigilant', 'vigorous', 'wizardly', 'wonderful', 'xenodochial', 'youthful', 'zealous', 'zen',
] as const;

const RIGHT = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bell', 'bhabha',
  'blackwell', 'bohr', 'booth', 'borg', 'bose', 'brattain', 'brown', 'burnell', 'carson', 'cerf',
  'chandrasekhar', 'clarke', 'colden', 'cori', 'cray', 'curie', 'darwin', 'davinci', 'dijkstra', 'dubinsky',
  'easley', 'edison', 'einstein', 'elion', 'engelbart', 'euclid', 'euler', 'faraday', 'feistel', 'fermat',
  'fermi', 'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'goldwasser', 'goodall', 'hamilton', 'hawking',
  'heisenberg', 'hermann', 'hertz', 'hodgkin', 'hofstadter', 'hopper', 'hugle', 'hypatia', 'jackson', 'jang',
  'jemison', 'jennings', 'johnson', 'joliot', 'kalam', 'kepler', 'khorana', 'kilby', 'knuth', 'kowalevski',
  'lalande', 'lamarr', 'lamport', 'leakey', 'leavitt', 'lederberg', 'lehmann', 'lewin', 'liskov', 'lovelace',
  'lumiere', 'mahavira', 'margulis', 'matsumoto', 'maxwell', 'mayer', 'mccarthy', 'mcclintock', 'mclean', 'meitner',
  'mendel', 'merkle', 'mestorf', 'mirzakhani', 'montalcini', 'moore', 'morse', 'napier', 'nash', 'neumann',
  'newton', 'nobel', 'noether', 'northcutt', 'noyce', 'pare', 'pascal', 'pasteur', 'payne', 'perlman',
  'pike', 'poincare', 'ptolemy', 'raman', 'ramanujan', 'ride', 'ritchie', 'rosalind', 'sammet', 'shamir',
  'shannon', 'shaw', 'shirley', 'shockley', 'sinoussi', 'snyder', 'solomon', 'spence', 'stonebraker', 'sutherland',
  'swanson', 'swartz', 'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira', 'visvesvaraya', 'volhard', 'wescoff',
  'wiles', 'williams', 'wilson', 'wing', 'wozniak', 'wright', 'wu', 'yalow', 'yonath', 'zhukovsky',
] as const;

const pick = <T>(list: readonly T[], random: () => number): T => list[Math.floor(random() * list.length) % list.length] as T;

/** One name, adjective_surname (never boring_wozniak); with `retry`, a digit after it. */
export function randomName(random: () => number = Math.random, retry = false): string {
  for (;;) {
    const name = `${pick(LEFT, random)}_${pick(RIGHT, random)}`;
    if (name === 'boring_wozniak') continue;
    return retry ? `${name}${Math.floor(random() * 10) % 10}` : name;
  }
}

/** A name no container in `taken` has: docker's, retried with a digit after the first clash. */
export function generateName(taken: ReadonlySet<string>, random: () => number = Math.random): string {
  for (let i = 0; i < 100; i++) {
    const name = randomName(random, i > 0);
    if (!taken.has(name)) return name;
  }
  // A hundred clashes: the space is nearly full; a longer suffix always finds a free one.
  for (let n = 10; ; n++) {
    const name = `${randomName(random)}${n}`;
    if (!taken.has(name)) return name;
  }
}

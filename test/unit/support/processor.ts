/**
 * A worker's processor (made by `build`) over a use case that answers `output` to every call;
 * what the use case was asked (`inputs`) and what the processor counted (`counted`) are kept.
 */
export function processorOver<I, O, C, P>(
  output: O,
  build: (useCase: { execute(input: I): Promise<O> }, count: (outcome: C) => void) => P,
): { process: P; inputs: I[]; counted: C[] } {
  const inputs: I[] = [];
  const counted: C[] = [];
  const useCase = {
    execute: async (input: I) => {
      inputs.push(input);
      return output;
    },
  };
  const process = build(useCase, (outcome) => void counted.push(outcome));
  return { process, inputs, counted };
}

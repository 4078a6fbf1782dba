/**
 * aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22+). On Node 20 every Task fails with
 * "Promise.withResolvers is not a function" unless it exists before the engine runs.
 */
const promiseCtor = Promise as unknown as { withResolvers?: unknown };
if (typeof promiseCtor.withResolvers !== 'function') {
  promiseCtor.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};

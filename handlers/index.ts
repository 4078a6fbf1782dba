/** Every Task state's handler, by the substitution name its ARN has in the ASL file. */
import type { AppDeps } from '../core/app.ts';
import { createHandler as beginSending } from './begin-sending.ts';
import { createHandler as finalise } from './finalise.ts';
import { createHandler as pickWinner } from './pick-winner.ts';
import { createHandler as prepare } from './prepare.ts';
import type { TaskHandler } from './runtime.ts';
import { createHandler as sendBatch } from './send-batch.ts';

export const TASK_FUNCTIONS = {
  PrepareFunctionArn: { entry: 'handlers/prepare.ts', create: prepare },
  BeginSendingFunctionArn: { entry: 'handlers/begin-sending.ts', create: beginSending },
  SendBatchFunctionArn: { entry: 'handlers/send-batch.ts', create: sendBatch },
  FinaliseFunctionArn: { entry: 'handlers/finalise.ts', create: finalise },
  PickWinnerFunctionArn: { entry: 'handlers/pick-winner.ts', create: pickWinner },
} as const satisfies Record<string, { entry: string; create: (deps: AppDeps) => TaskHandler }>;

export type TaskFunctionName = keyof typeof TASK_FUNCTIONS;

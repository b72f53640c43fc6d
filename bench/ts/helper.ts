export interface Answer {
  ok: true;
  n: number;
}

export enum Ok {
  Yes = 1,
}

export function answer(n: number): Answer {
  return { ok: Ok.Yes === 1, n } as Answer;
}

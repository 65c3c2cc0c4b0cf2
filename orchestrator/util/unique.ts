import { randomBytes } from "node:crypto";

let seq = 0;
/** A name part no other call, in this process or another, gets: pid, a counter, random bits. */
export const uniqueSuffix = (): string => `${process.pid}-${++seq}-${randomBytes(3).toString("hex")}`;

export { CreditLedger, FLUSH_AT, FLUSH_EVERY_MS, refillPeriod, type CreditRule, type CreditSink, type PendingSpend, type RefillInterval, type StoredCredits } from './credits.ts';
export { compilePolicy, PolicyEngine, POLICY_REFUSALS, type CheckContext, type CompiledPolicy, type PolicyDecision, type PolicyRefusal, type PolicyRefusalCode } from './engine.ts';
export { AllowList, allowEntryProblem, parseClientAddress } from './ip.ts';
export { RateLimiter, type RateWindowRule, type WindowStatus } from './rate-limit.ts';
export { applyExpiryRules, clampExpiry, EMPTY_RULES, SUBJECT_KINDS, validateRules, type ExpiryRule, type PolicyInput, type PolicyRules, type Subject, type SubjectKind } from './rules.ts';

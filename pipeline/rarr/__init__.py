from citeline.pipeline.rarr.batch import ReviseRun, ReviseSummary
from citeline.pipeline.rarr.metrics import AttributionScorer, edit_ratio, f1_ap, levenshtein, preservation
from citeline.pipeline.rarr.report import ReportBuilder, best_cover, coverage
from citeline.pipeline.rarr.research import (EvidenceFinder, EvidenceRanker, QuestionGenerator, VerifierRanker,
                                             sentence_windows)
from citeline.pipeline.rarr.results import (EditStep, EvidenceSnippet, GateDecision, Question, RarrConfig, RarrCounters,
                                            RarrMetrics, RevisionResult)
from citeline.pipeline.rarr.revise import AgreementGate, Editor, EvidenceFallbackEditor, Reviser, word_diff
from citeline.prompts.answers import parse_fix, parse_gate
from citeline.prompts.answers import parse_queries as parse_questions

__all__ = ["AgreementGate", "AttributionScorer", "EditStep", "Editor", "EvidenceFallbackEditor",
           "EvidenceFinder", "EvidenceRanker", "EvidenceSnippet", "GateDecision", "Question", "QuestionGenerator",
           "RarrConfig", "RarrCounters", "RarrMetrics", "ReportBuilder", "ReviseRun", "ReviseSummary", "Reviser",
           "RevisionResult", "VerifierRanker", "best_cover", "coverage", "edit_ratio", "f1_ap",
           "levenshtein", "parse_fix", "parse_gate", "parse_questions", "preservation", "sentence_windows",
           "word_diff"]

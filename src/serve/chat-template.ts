// The text a chat becomes before it is tokenized. Models distill serves (llama2.c stories,
// small HF students) carry no chat template of their own, so one simple, documented template is
// used for all (docs/http-teacher.md): each message as "Role: content" followed by a blank line,
// then "Assistant:" for the model to continue. It does not render HF jinja templates.

export interface ChatMessage { role: string; content: string | { type: 'text'; text: string }[] }

const ROLE_NAMES: Record<string, string> = { system: 'System', developer: 'System', user: 'User', assistant: 'Assistant' };

/** The chat as one prompt text, ending with the cue for the assistant's turn. */
export function renderChat(messages: readonly ChatMessage[]): string {
  const parts = messages.map((m) => {
    const content = typeof m.content === 'string' ? m.content : m.content.map((c) => c.text).join('');
    return `${ROLE_NAMES[m.role] ?? m.role}: ${content}`;
  });
  return `${parts.join('\n\n')}\n\nAssistant:`;
}

#!/usr/bin/env python3
"""Reference renderings for runtime/chat's unit tests, by Jinja2 configured exactly as transformers does it.

transformers' apply_chat_template (utils/chat_template_utils.py, _cached_compile_jinja_template) renders a
model's chat_template with jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[AssistantTracker ({% generation %}), jinja2.ext.loopcontrols]), its own tojson filter (json.dumps
without HTML escaping), and the globals raise_exception, strftime_now, dict and namespace; it passes
messages, tools=None, documents=None, add_generation_prompt and the special tokens. This script builds the
same environment (and, where transformers is installed, checks every rendering against transformers' own),
renders:
  - the chat templates of SmolLM2-Instruct (read from models/cache/smollm2-135m-instruct/ when present),
    TinyLlama-1.1B-Chat, Llama-2-chat, Mistral-7B-Instruct v0.1 and v0.3, Llama-3.1-Instruct, Qwen2.5,
    Qwen3 and Gemma-2, written here from the public model repositories (they may differ from the repos'
    latest revisions in whitespace; what matters is that both renderers see the same text),
    over conversations with and without a system message, multi-turn, empty and non-ASCII contents, bad
    role orders, tools and tool calls, with add_generation_prompt true and false;
  - synthetic templates that exercise every construct of tsc's subset (runtime/chat/README.md);
and records each output, or the exception when Jinja raises (its message when raise_exception raised it),
plus templates that Jinja refuses to parse. Output: test/unit/chat/data/chat_template_ref.json.

Usage: python3 test/gen/chat_template_ref.py [--out test/unit/chat/data/chat_template_ref.json]
"""
import argparse
import copy
import json
import os
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---- transformers' environment -------------------------------------------------------------------------

class AssistantTracker(Extension):
    """{% generation %}...{% endgeneration %}: renders its body (transformers records where, for masks)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime.now().strftime(format)


class TemplateDict:
    def __call__(self, *args, **kwargs):
        return dict(*args, **kwargs)


class TemplateNamespace(jinja2.utils.Namespace):
    def __init__(*args, **kwargs):
        self, args = args[0], args[1:]
        attrs = dict(*args, **kwargs)
        for name in attrs:
            TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name, value):
        TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check_name(name):
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError("underscore-prefixed namespace attribute " + repr(name))


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = TemplateDict()
    env.globals["namespace"] = TemplateNamespace
    return env


ENV = make_env()

try:  # transformers' own compiler, to check that ENV renders as it does
    from transformers.utils.chat_template_utils import _compile_jinja_template as hf_compile
except Exception:  # noqa: BLE001 - transformers is optional here
    hf_compile = None


def render(template, variables):
    """-> ("output", text) | ("raise", message) for raise_exception | ("error", "Type: message")."""
    results = []
    compilers = [ENV.from_string] + ([hf_compile] if hf_compile else [])
    for compile_template in compilers:
        try:
            results.append(("output", compile_template(template).render(**copy.deepcopy(variables))))
        except jinja2.exceptions.TemplateSyntaxError:
            raise
        except Exception as e:  # noqa: BLE001 - any exception is a result to record
            if type(e) is jinja2.exceptions.TemplateError:
                results.append(("raise", str(e)))
            else:
                results.append(("error", f"{type(e).__name__}: {e}"))
    kinds = {(k, v if k != "error" else v.split(":")[0]) for k, v in results}
    assert len(kinds) == 1, f"this environment and transformers' disagree: {results}"
    return results[0]


# ---- real chat templates -------------------------------------------------------------------------------

CHATML_SMOLLM2 = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def smollm2_template():
    path = os.path.join(ROOT, "models/cache/smollm2-135m-instruct/tokenizer_config.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)["chat_template"]
    return CHATML_SMOLLM2


TINYLLAMA = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
    "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")

LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")

MISTRAL_V01 = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")

MISTRAL_V03 = r"""{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- set user_messages = loop_messages | selectattr("role", "equalto", "user") | list %}

{#- This block checks for alternating user/assistant messages, skipping tool calling messages #}
{%- set ns = namespace() %}
{%- set ns.index = 0 %}
{%- for message in loop_messages %}
    {%- if not (message.role == "tool" or message.role == "tool_results" or (message.tool_calls is defined and message.tool_calls is not none)) %}
        {%- if (message["role"] == "user") != (ns.index % 2 == 0) %}
            {{- raise_exception("After the optional system message, conversation roles must alternate user/assistant/user/assistant/...") }}
        {%- endif %}
        {%- set ns.index = ns.index + 1 %}
    {%- endif %}
{%- endfor %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if message["role"] == "user" %}
        {%- if tools is not none and (message == user_messages[-1]) %}
            {{- "[AVAILABLE_TOOLS] [" }}
            {%- for tool in tools %}
                {%- set tool = tool.function %}
                {{- '{"type": "function", "function": {' }}
                {%- for key, val in tool.items() if key != "return" %}
                    {%- if val is string %}
                        {{- '"' + key + '": "' + val + '"' }}
                    {%- else %}
                        {{- '"' + key + '": ' + val|tojson }}
                    {%- endif %}
                    {%- if not loop.last %}
                        {{- ", " }}
                    {%- endif %}
                {%- endfor %}
                {{- "}}" }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- else %}
                    {{- "]" }}
                {%- endif %}
            {%- endfor %}
            {{- "[/AVAILABLE_TOOLS]" }}
            {%- endif %}
        {%- if loop.last and system_message is defined %}
            {{- "[INST] " + system_message + "\n\n" + message["content"] + "[/INST]" }}
        {%- else %}
            {{- "[INST] " + message["content"] + "[/INST]" }}
        {%- endif %}
    {%- elif message.tool_calls is defined and message.tool_calls is not none %}
        {{- "[TOOL_CALLS] [" }}
        {%- for tool_call in message.tool_calls %}
            {%- set out = tool_call.function|tojson %}
            {{- out[:-1] }}
            {%- if not tool_call.id is defined or tool_call.id|length != 9 %}
                {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
            {%- endif %}
            {{- ', "id": "' + tool_call.id + '"}' }}
            {%- if not loop.last %}
                {{- ", " }}
            {%- else %}
                {{- "]" + eos_token }}
            {%- endif %}
        {%- endfor %}
    {%- elif message["role"] == "assistant" %}
        {{- " " + message["content"]|trim + eos_token}}
    {%- elif message["role"] == "tool_results" or message["role"] == "tool" %}
        {%- if message.content is defined and message.content.content is defined %}
            {%- set content = message.content.content %}
        {%- else %}
            {%- set content = message.content %}
        {%- endif %}
        {{- '[TOOL_RESULTS] {"content": ' + content|string + ", " }}
        {%- if not message.tool_call_id is defined or message.tool_call_id|length != 9 %}
            {{- raise_exception("Tool call IDs should be alphanumeric strings with length 9!") }}
        {%- endif %}
        {{- '"call_id": "' + message.tool_call_id + '"}[/TOOL_RESULTS]' }}
    {%- else %}
        {{- raise_exception("Only user and assistant roles are supported, with the exception of an initial optional system message!") }}
    {%- endif %}
{%- endfor %}
"""

LLAMA31 = r"""{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
"""

QWEN25 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""

QWEN3 = r"""{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}"""

HERMES2PRO = r"""{%- macro json_to_python_type(json_spec) %}
{%- set basic_type_map = {
    "string": "str",
    "number": "float",
    "integer": "int",
    "boolean": "bool"
} %}

{%- if basic_type_map[json_spec.type] is defined %}
    {{- basic_type_map[json_spec.type] }}
{%- elif json_spec.type == "array" %}
    {{- "list[" +  json_to_python_type(json_spec|items) + "]"}}
{%- elif json_spec.type == "object" %}
    {%- if json_spec.additionalProperties is defined %}
        {{- "dict[str, " + json_to_python_type(json_spec.additionalProperties) + ']'}}
    {%- else %}
        {{- "dict" }}
    {%- endif %}
{%- elif json_spec.type is iterable %}
    {{- "Union[" }}
    {%- for t in json_spec.type %}
      {{- json_to_python_type({"type": t}) }}
      {%- if not loop.last %}
        {{- "," }}
    {%- endif %}
    {%- endfor %}
    {{- "]" }}
{%- else %}
    {{- "Any" }}
{%- endif %}
{%- endmacro %}

{{- bos_token }}
{{- "You are a function calling AI model. You are provided with function signatures within <tools></tools> XML tags. You may call one or more functions to assist with the user query. Don't make assumptions about what values to plug into functions. Here are the available tools: <tools> " }}
{%- for tool in tools %}
    {%- if tool.function is defined %}
        {%- set tool = tool.function %}
    {%- endif %}
    {{- '{"type": "function", "function": ' }}
    {{- '{"name": "' + tool.name + '", ' }}
    {{- '"description": "' + tool.name + '(' }}
    {%- for param_name, param_fields in tool.parameters.properties|items %}
        {{- param_name + ": " + json_to_python_type(param_fields) }}
        {%- if not loop.last %}
            {{- ", " }}
        {%- endif %}
    {%- endfor %}
    {{- ")" }}
    {%- if tool.return is defined %}
        {{- " -> " + json_to_python_type(tool.return) }}
    {%- endif %}
    {{- " - " + tool.description + "

" }}
    {%- for param_name, param_fields in tool.parameters.properties|items %}
        {%- if loop.first %}
            {{- "    Args:
" }}
        {%- endif %}
        {{- "        " + param_name + "(" + json_to_python_type(param_fields) + "): " + param_fields.description|default('')|trim }}
    {%- endfor %}
    {%- if tool.return is defined and tool.return.description is defined %}
        {{- "
    Returns:
        " + tool.return.description }}
    {%- endif %}
    {{- '"' }}
    {{- ', "parameters": ' }}
    {%- if tool.parameters.properties | length == 0 %}
        {{- "{}" }}
    {%- else %}
        {{- tool.parameters|tojson }}
    {%- endif %}
    {{- "}" }}
    {%- if not loop.last %}
        {{- "
" }}
    {%- endif %}
{%- endfor %}
{{- " </tools>" }}
{{- '
<|im_end|>
' }}
{%- for message in messages %}
    {%- if message.role == "user" or message.role == "system" or (message.role == "assistant" and message.tool_calls is not defined) %}
        {{- '<|im_start|>' + message.role + '
' + message.content + '<|im_end|>' + '
' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
    {%- for tool_call in message.tool_calls %}
       {{- '
<tool_call>
' }}           {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '{' }}
            {{- '"name": "' }}
            {{- tool_call.name }}
            {{- '"' }}
            {{- ', '}}
            {%- if tool_call.arguments is defined %}
                {{- '"arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments|tojson }}
                {%- endif %}
            {%- endif %}
            {{- '}' }}
            {{- '
</tool_call>' }}
    {%- endfor %}
        {{- '<|im_end|>
' }}
    {%- elif message.role == "tool" %}
        {%- if loop.previtem and loop.previtem.role != "tool" %}
            {{- '<|im_start|>tool
' }}
        {%- endif %}
        {{- '<tool_response>
' }}
        {{- message.content }}
        {%- if not loop.last %}
            {{- '
</tool_response>
' }}
        {%- else %}
            {{- '
</tool_response>' }}
        {%- endif %}
        {%- if not loop.last and loop.nextitem.role != "tool" %}
            {{- '<|im_end|>' }}
        {%- elif loop.last %}
            {{- '<|im_end|>' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant
' }}
{%- endif %}
"""

GEMMA2 = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")

# name -> (template, bos_token, eos_token, takes tools)
REAL = {
    "smollm2": (smollm2_template(), "<|im_start|>", "<|im_end|>", False),
    "tinyllama": (TINYLLAMA, "<s>", "</s>", False),
    "llama2": (LLAMA2, "<s>", "</s>", False),
    "mistral_v0.1": (MISTRAL_V01, "<s>", "</s>", False),
    "mistral_v0.3": (MISTRAL_V03, "<s>", "</s>", True),
    "llama3.1": (LLAMA31, "<|begin_of_text|>", "<|eot_id|>", True),
    "qwen2.5": (QWEN25, "", "<|im_end|>", True),
    "qwen3": (QWEN3, "", "<|im_end|>", True),
    "gemma2": (GEMMA2, "<bos>", "<eos>", False),
    "hermes2pro": (HERMES2PRO, "<|begin_of_text|>", "<|im_end|>", True),
}

SYS = {"role": "system", "content": "You are a helpful assistant."}
U1 = {"role": "user", "content": "Hello! How are you?"}
A1 = {"role": "assistant", "content": "  I'm fine, thanks. How can I help?  "}
U2 = {"role": "user", "content": "Write a haiku about the sea.\n"}
CONVERSATIONS = {
    "user": [U1],
    "system_user": [SYS, U1],
    "multi_turn": [SYS, U1, A1, U2],
    "multi_turn_no_system": [U1, A1, U2],
    "ends_with_assistant": [U1, A1],
    "empty_content": [{"role": "user", "content": ""}],
    "unicode": [{"role": "system", "content": "Réponds en français. 日本語も。"},
                {"role": "user", "content": "  Héllo wörld — 你好, 🌍!\tTabs\nand\r\nnewlines \u00a0"}],
    "system_only": [SYS],
    "not_alternating": [U1, U2],
    "assistant_first": [A1, U1],
    "empty": [],
}

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city, e.g. “Zürich”.",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string", "description": "City name"},
                                      "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                       "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "add", "description": "Add two numbers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                       "required": ["a", "b"]},
        "return": {"type": "number"}}},
    {"type": "function", "function": {
        "name": "search", "description": "Search documents.",
        "parameters": {"type": "object", "properties": {
            "queries": {"type": "array", "items": {"type": "string"}, "description": "  Queries. "},
            "filters": {"type": "object", "additionalProperties": {"type": "integer"}},
            "mode": {"type": ["string", "integer"]}, "flag": {"type": "boolean"}, "extra": {}},
            "required": ["queries"]},
        "return": {"type": "array", "description": "Matching documents."}}},
]
TOOL_CALL = {"id": "call12345", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}
TOOL_CONVERSATION = [
    SYS,
    {"role": "user", "content": "What's the weather in Zürich?"},
    {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL]},
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"temperature\": 21.5, \"unit\": \"celsius\"}"},
    {"role": "assistant", "content": "It is 21.5 °C in Zürich."},
]
THINKING = [
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "<think>\nSimple arithmetic.\n</think>\n\n4"},
    {"role": "user", "content": "And 3+3?"},
    {"role": "assistant", "content": "<think>\nAgain.\n</think>\n\n6"},
]


TOOLS_ONLY = {"hermes2pro"}  # its tool-use template iterates `tools` unguarded: plain chats fail in Jinja too


def real_cases():
    cases = []
    for name, (template, bos, eos, takes_tools) in REAL.items():
        for conv_name, conv in ({} if name in TOOLS_ONLY else CONVERSATIONS).items():
            for gen in (False, True):
                cases.append((f"{name}/{conv_name}/{'gen' if gen else 'nogen'}", name,
                              {"messages": conv, "tools": None, "documents": None, "add_generation_prompt": gen,
                               "bos_token": bos, "eos_token": eos}))
        if takes_tools:
            base = {"documents": None, "bos_token": bos, "eos_token": eos}
            cases.append((f"{name}/tools/gen", name,
                          {**base, "messages": TOOL_CONVERSATION[:2], "tools": TOOLS, "add_generation_prompt": True}))
            cases.append((f"{name}/tool_calls", name,
                          {**base, "messages": TOOL_CONVERSATION, "tools": TOOLS, "add_generation_prompt": False}))
            if name not in TOOLS_ONLY:
                cases.append((f"{name}/tool_calls_no_tools", name,
                              {**base, "messages": TOOL_CONVERSATION, "tools": None, "add_generation_prompt": True}))
            else:
                cases.append((f"{name}/multi_turn_tools", name, {**base, "messages": CONVERSATIONS["multi_turn"],
                                                                  "tools": TOOLS[:1], "add_generation_prompt": True}))
    llama = {"documents": None, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    cases.append(("llama3.1/builtin_tools", "llama3.1", {
        **llama, "tools": None, "add_generation_prompt": True, "builtin_tools": ["brave_search", "code_interpreter"],
        "date_string": "01 Jan 2025",
        "messages": [U1, {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "brave_search", "arguments": {"query": "weather \"today\"", "n": "3"}}}]},
                     {"role": "ipython", "content": {"result": "sunny"}}]}))
    cases.append(("llama3.1/tools_in_system", "llama3.1", {
        **llama, "tools": TOOLS[:1], "tools_in_user_message": False, "add_generation_prompt": False,
        "messages": TOOL_CONVERSATION}))
    cases.append(("llama3.1/two_tool_calls", "llama3.1", {
        **llama, "tools": TOOLS, "add_generation_prompt": False,
        "messages": [U1, {"role": "assistant", "content": "", "tool_calls": [TOOL_CALL, TOOL_CALL]}]}))
    cases.append(("llama3.1/tools_no_user", "llama3.1", {
        **llama, "tools": TOOLS, "add_generation_prompt": True, "messages": [SYS]}))
    cases.append(("mistral_v0.3/bad_tool_call_id", "mistral_v0.3", {
        "documents": None, "bos_token": "<s>", "eos_token": "</s>", "tools": TOOLS, "add_generation_prompt": True,
        "messages": [U1, {"role": "assistant", "tool_calls": [{**TOOL_CALL, "id": "short"}]}]}))
    for name in ("qwen3",):
        q = {"documents": None, "bos_token": "", "eos_token": "<|im_end|>", "tools": None}
        cases.append((f"{name}/thinking", name, {**q, "messages": THINKING, "add_generation_prompt": False}))
        cases.append((f"{name}/thinking_gen", name, {**q, "messages": THINKING[:3], "add_generation_prompt": True}))
        cases.append((f"{name}/enable_thinking_false", name,
                      {**q, "messages": [U1], "add_generation_prompt": True, "enable_thinking": False}))
        cases.append((f"{name}/reasoning_content", name, {**q, "add_generation_prompt": False, "messages": [
            U1, {"role": "assistant", "content": "Fine.", "reasoning_content": "\nThink.\n"}]}))
    return cases


# ---- synthetic templates: every construct of the subset ------------------------------------------------

V = {  # common variables of the synthetic templates
    "x": 1, "xs": [1, 2, 3, 4], "d": {"b": 2, "a": 1, "items": "key named items"},
    "m": {"role": "user", "content": "hi"}, "s": "héllo🌍",
    "msgs": [SYS, U1, A1, {"role": "user", "content": ""}],
    "messages": [SYS, U1], "add_generation_prompt": True, "bos_token": "<s>", "eos_token": "</s>",
    "tools": TOOLS, "documents": None,
}
V_FALSY = {**V, "x": 0, "xs": [], "d": {}, "s": "", "m": {}, "msgs": []}

SYNTHETIC = {
    # whitespace control: trim_blocks, lstrip_blocks, -, +, comments, raw, the dropped trailing newline
    "ws_blocks": "<start>\n  {% if x %}\n    yes {{ x }}\n  {% else %}\n    no\n  {% endif %}\n  {# comment #}\n"
                 "  {%+ if x %}plus-lstrip{% endif +%}\nafter\n{%- if x -%}   stripped   {%- endif -%}\n"
                 "   end   \n{{- ' v ' -}}\n  tail\n{% raw %}  {{ not evaluated }} {% if %}\n{% endraw %}\n"
                 "text {{ x }}   \n{%- for i in [1,2] %}\n  item{{ i }}\n{% endfor %}\n",
    "ws_crlf": "a\r\n{% if true %}\r\nb\r\n  {% endif %}\r\nc\r\n{{ 'd' }}\r\n\r\n",
    "ws_tabs_unicode": "x\n\t {% if true %}y{% endif %}\n\u3000{% if true %}z{% endif %}\n"
                       "  {{ 'var tags are not lstripped' }}\n  {#- c -#}  \n  w",
    "ws_comments": "a {#- strip left #} b {# strip right -#}   c\n{# trim #}\nd{#+ keep +#}\n  e{#  multi\nline #}f",
    "ws_raw_strip": "p  {%- raw -%}   {{ raw }}   {%- endraw -%}  q\n  {% raw %}r{% endraw %}\ns",
    "ws_nested": "{% for m in msgs %}\n    {% if m.role == 'user' %}\n        U:{{ m.content }}\n    {% elif m.role "
                 "== 'system' %}\n        S:{{ m.content }}\n    {% else %}\n        A\n    {% endif %}\n{% endfor %}\n",
    "ws_inline_newlines": "{{ 'a' }}\n{{ 'b' }}\n\n{% if true %}c{% endif %}\n\nd{%- if true %}\ne{% endif %}",
    # expressions
    "expr_arith": "{{ 1 + 2 }} {{ 7 - 10 }} {{ 2 * 3.5 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} "
                  "{{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 1e3 }} {{ 0.1 + 0.2 }} {{ 1_000 }} {{ 'ab' * 3 }} "
                  "{{ 2 * 'x' }} {{ [1] + [2] }} {{ [0] * 3 }} {{ 10 / 4 }} {{ 1 / 3 }} {{ 2.5 // 1 }} {{ -3.5 % 2 }} "
                  "{{ 0x1F }} {{ 0o17 }} {{ 0b101 }} {{ 1e-7 }} {{ 1.5e20 }} {{ 123456789.0 * 1000000000 }} "
                  "{{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 0.00001 }} {{ -x }} {{ +x }} {{ -1.5 }} {{ true + true }} "
                  "{{ 2 ** 3 ** 2 }} {{ 10 - 2 - 3 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }}",
    "expr_strings": r"""{{ 'a' ~ 1 ~ none ~ true ~ u }} {{ "it's" }} {{ 'say "hi"' }} {{ 'tab\tnl\\n' }} """
                    r"""{{ '\u00e9\x41\101' }} {{ 'a' 'b' "c" }} {{ "multi\nline" }} {{ 'unknown \d escape' }} """
                    r"""{{ 'x' + 'y' }} {{ s ~ '!' }} {{ 'con' ~ 'cat' | upper }} {{ "\U0001F600" }}""",
    "expr_compare": "{{ 1 == 1.0 }} {{ 1 != 2 }} {{ 'a' < 'b' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ [1, 2] < [1, 3] }} "
                    "{{ 'x' in 'xyz' }} {{ 'q' not in ['a'] }} {{ 'b' in d }} {{ 1 in [1.0] }} {{ none == none }} "
                    "{{ true == 1 }} {{ 'é' > 'z' }} {{ 2 >= 2 }} {{ 1 <= 0 }} {{ m == {'role': 'user', 'content': 'hi'} }} "
                    "{{ xs == [1, 2, 3, 4] }} {{ (1, 2) == [1, 2] }} {{ u == u }} {{ u != none }} {{ 'a' in u }}",
    "expr_logic": "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ not [] }} {{ none or [] }} "
                  "{{ x if x else 'no' }} [{{ 'y' if false }}] {{ (1, 2) }} {{ (1,) }} {{ () }} {{ not x == 2 }} "
                  "{{ x and xs or 'fallback' }} {{ 'a' if x > 0 else 'b' if x < 0 else 'c' }}",
    "expr_repr": "{{ [1, 'a', none, true, 1.5, {'k': [1, 2]}, ('t',)] }} {{ {'a': \"it's\", 'b': 'say \"hi\"', "
                 "'c': 'both \\' \"'} }} {{ none }} {{ true }} {{ false }} [{{ undefined_var }}] {{ -0.0 }} "
                 "{{ ['é', '\\n', '\\x01', '\\u00a0', '\\u200b', '\\\\'] }} {{ d }} {{ m }} {{ 1e100 }} {{ [1e-5] }}",
    "expr_index": "{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[1:3] }} "
                  "{{ xs[-2:] }} {{ xs[5:] }} {{ xs[3:1] }} {{ xs[3:1:-1] }} [{{ xs[5] }}] {{ s[1:3] }} {{ s[::-1] }} "
                  "{{ s[-1] }} [{{ s[10:] }}] {{ s[0] }} {{ d['a'] }} {{ d.a }} [{{ d['missing'] }}] {{ xs.0 }} "
                  "{{ d['items'] }} {{ msgs[0].role }} {{ msgs[-1]['content'] }} {{ (xs|list)[1] }} "
                  "{{ [[1, 2], [3]][0][1] }} {{ 'abc'[-5:] }} {{ xs[-100:2] }} {{ xs[None:2] }}",
    "expr_dict_methods": "{{ m.role }} {{ m['content'] }} {{ m.get('x', 'dflt') }} {{ m.get('role') }} "
                         "{{ m.get('nope') }} {{ m.keys()|list }} {{ m.values()|list }} {{ d.items()|list }} "
                         "{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %} {{ m.items()|length }} "
                         "{{ {'z': 1, 'a': 2} }} {{ {'a': 1, 'a': 2} }} {{ dict(a=1, b='x') }} {{ dict(m, extra=1) }}",
    # statements
    "stmt_loop_vars": "{% for x in xs %}{{ loop.index0 }}/{{ loop.index }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
                      "{{ loop.first }}/{{ loop.last }}/{{ loop.length }}/{{ loop.previtem }}/{{ loop.nextitem }}/"
                      "{{ loop.cycle('a', 'b', 'c') }}/{{ loop.depth }}|{% endfor %}",
    "stmt_loop_control": "{% for x in xs if x > 1 %}{{ x }}:{{ loop.index }}:{{ loop.length }}:{{ loop.last }} "
                         "{% else %}empty{% endfor %}|{% for x in [] %}{% else %}none{% endfor %}|"
                         "{% for x in xs %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                         "{% endif %}{{ x }}{% endfor %}|{% for x in xs %}{% for y in xs %}{% if y > x %}"
                         "{% break %}{% endif %}{{ y }}{% endfor %};{% endfor %}",
    "stmt_loop_iterables": "{% for k in d %}{{ k }},{% endfor %}|{% for k, v in d.items() %}{{ k }}={{ v }},"
                           "{% endfor %}|{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}|{% for a, b in "
                           "[[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}|{% for c in s %}[{{ c }}]{% endfor %}|"
                           "{% for i in range(3) %}{{ i }}{% endfor %}|{% for m in msgs|reverse %}{{ m.role[0] }}"
                           "{% endfor %}|{% for a, b in ['xy', 'zw'] %}{{ b }}{% endfor %}",
    "stmt_scoping": "{% set x = 1 %}{% for i in [1, 2] %}{{ x }}{% set x = x + i %}{{ x }}{% for j in [1] %}"
                    "{{ loop.index }}{{ i }}{% endfor %}{% endfor %}{{ x }}|{% if true %}{% set y = 5 %}{% endif %}"
                    "{{ y }}|{% for i in [1, 2] %}[{{ z }}]{% set z = i %}{% endfor %}[{{ z }}]|"
                    "{% with w = 3 %}{{ w }}{% set x = 9 %}{{ x }}{% endwith %}{{ w }}{{ x }}",
    "stmt_namespace": "{% set ns = namespace(count=0, found=false, items=[]) %}{% for m in msgs %}"
                      "{% if m.role == 'user' %}{% set ns.count = ns.count + 1 %}{% set ns.found = true %}"
                      "{% set ns.last = m.content %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.found }} "
                      "[{{ ns.last }}] [{{ ns.missing }}] {{ ns.items }} {% set ns2 = namespace(d) %}{{ ns2.b }} "
                      "{% set ns2.items = ns2.items ~ '!' %}{{ ns2.items }} {{ ns }}",
    "stmt_set": "{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t = (1, 2) %}{{ t }}|{% set blk %}  inner {{ a }} "
                "{% endset %}[{{ blk }}]|{% set up | upper | replace('O', '0') %}shout {{ b }}{% endset %}{{ up }}|"
                "{% set messages = messages[1:] %}{{ messages|length }}|{% set xs = xs + [5] %}{{ xs }}|"
                "{% set k, v = ['key', 'val'] %}{{ k }}:{{ v }}",
    "stmt_macro": "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('a') }} "
                  "{{ greet('b', '?') }} {{ greet(punct='.', name='c') }} [{{ greet() }}]|{% macro rec(n) %}"
                  "{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}|{% set late = 'L' %}"
                  "{% macro uses() %}{{ late }}{{ x }}{% endmacro %}{{ uses() }}|{% macro two(a, b=a ~ '2') %}"
                  "{{ a }}{{ b }}{% endmacro %}{{ two('q') }}|{{ greet('x') | upper }}|{% for i in [1] %}"
                  "{% macro inner() %}{{ i }}{% endmacro %}{{ inner() }}{% endfor %}",
    "stmt_blocks": "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}|{% filter upper %}up {{ 'x' }}{% endfilter %}|"
                   "{% filter trim | replace(' ', '_') %}  a b  {% endfilter %}|{% generation %}gen {{ x }}"
                   "{% endgeneration %}|{% print 'p', 1 %}|{% if x == 1 %}one{% elif x == 2 %}two{% elif x %}many"
                   "{% else %}zero{% endif %}",
    "stmt_for_else": "{% for c in 'ab' %}{% break %}{% else %}E1{% endfor %}|{% for c in 'ab' %}{% if c == 'b' %}"
                     "{% break %}{% endif %}{{ c }}{% else %}E2{% endfor %}|{% for c in 'ab' %}{% continue %}{% else %}"
                     "E3{% endfor %}|{% for c in 'ab' %}{% for d in [] %}{% else %}[{{ loop.index }}]{% endfor %}"
                     "{% endfor %}|{% for c in [] %}{% else %}{% set zz = 1 %}{% endfor %}[{{ zz }}]|"
                     "{% for c in xs if c > 10 %}{{ c }}{% else %}none>10{% endfor %}",
    "expr_numbers_edge": "{{ x // 0.1 }} {{ -1 // 0.3 }} {{ 7.5 // -2 }} {{ -0.0 // 1 }} {{ 0.0 // -1 }} {{ 5.5 % -2 }} "
                         "{{ -5.5 % 2 }} {{ 2 ** 0.5 }} {{ 10 ** 18 }} {{ (-2) ** 3 }} {{ (-1) ** 5 }} {{ 4 ** -1 }} "
                         "{{ 9223372036854775807 }} {{ -9223372036854775807 - 1 }} {{ 1e308 * 10 }} {{ -(1e308 * 10) }} "
                         "{{ 3 / 1.5 }} {{ 0.1 * 3 }} {{ 1/7 }} {{ 100000000000000000000.0 }} {{ 2.0 ** 60 }}",
    "expr_dict_views": "{{ m.items() }} {{ m.keys() }} {{ m.values() }} {{ m.keys() == m.keys() }} "
                       "{{ 'role' in m.keys() }} {{ m.items()|length }} [{{ m.keys()[0] }}] {{ m.keys()|list }} "
                       "{{ m.values()|first }} {{ m.items()|list|first }}",
    # filters
    "filter_safe_markup": "{% macro mc() %}<x>{% endmacro %}{{ [mc()] }}|{% set b %}<y>{% endset %}{{ [b] }}|"
                          "{{ ['<'|safe] }}|{{ '<'|safe + '<' }}|{{ ('<'|safe|trim) + '<' }}|"
                          "{{ ('<'|safe|replace('a','b')) + '<' }}|{{ ('<'|safe ~ 'x') + '<' }}|"
                          "{{ ('<'|safe).upper() + '<' }}|{{ '<'|safe == '<' }}|{{ ['<'|safe|string] }}|"
                          "{{ '&' + '\"'|safe }}|{{ ('a'|safe) * 2 + '>' }}|{{ m.content|safe }}|{{ (none|safe) + \"'\" }}",
    "filter_strings": "{{ '  x  '|trim }}|{{ 'xxhixx'|trim('x') }}|{{ xs|length }}|{{ s|length }}|{{ d|count }}|"
                      "{{ 'abc'|upper }}|{{ 'ÀB'|lower }}|{{ 'straße'|upper }}|{{ 'hello world-foo(bar'|title }}|"
                      "{{ \"o'neil mc-d\"|title }}|{{ 'hELLO wORLD'|capitalize }}|{{ 'a-b'|replace('-', '+') }}|"
                      "{{ 'aaa'|replace('a', 'b', 2) }}|{{ 12|string }}|{{ none|string }}|{{ [1]|string }}|"
                      "{{ 'x'|safe }}|{{ none|upper }}|{{ 1.5|string }}|{{ s|first }}{{ s|last }}|"
                      "{{ 'abc'|replace('', '-') }}|{{ 'ǅ ǆ'|title }}|{{ 'ﬁne'|upper }}|{{ 'ΌΣΟΣ'|lower }}",
    "filter_default": "{{ u|default('d') }}|{{ none|default('d') }}|{{ ''|default('d', true) }}|{{ 'v'|d('x') }}|"
                      "[{{ u|default }}]|{{ false|default('d', boolean=true) }}|{{ m.nokey|default('nk') }}|"
                      "{{ (m.role if m.role is defined)|default('r') }}",
    "filter_numbers": "{{ '42'|int }} {{ ' -7 '|int }} {{ '3.9'|int }} {{ 'x'|int }} {{ 'x'|int(5) }} {{ 3.99|int }} "
                      "{{ -3.99|int }} {{ true|int }} {{ '1_000'|int }} {{ 'ff'|int(base=16) }} {{ none|int }} "
                      "{{ '2.5'|float }} {{ 3|float }} {{ 'abc'|float }} {{ '1e3'|float }} {{ -5|abs }} "
                      "{{ -2.5|abs }} {{ xs|sum }} {{ [0.5, 1]|sum }} {{ msgs|map(attribute='content')|map('length')|sum }} "
                      "{{ xs|sum(start=10) }} {{ '+5'|int }} {{ ' 1e2 '|float }}",
    "filter_sequences": "{{ xs|first }} {{ xs|last }} {{ 'abc'|first }} {{ 'abc'|last }} [{{ []|first }}] "
                        "{{ d|first }} {{ d|last }}|{{ xs|join(', ') }} {{ xs|join }} {{ msgs|join(',', attribute='role') }}"
                        " {{ [none, 1.5, true]|join('-') }}|{{ 'ab'|list }} {{ d|list }} {{ xs|reverse|list }} "
                        "{{ s|reverse }} {{ (1, 2)|list }} {{ [3, 1, 2]|sort }} {{ ['b', 'A', 'a', 'C']|sort }} "
                        "{{ ['b', 'A', 'a']|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} "
                        "{{ msgs|sort(attribute='role')|map(attribute='content')|join(',') }} "
                        "{{ [[2, 'b'], [1, 'a'], [2, 'a']]|sort }} {{ msgs|sort(attribute='role', reverse=true)|map(attribute='role')|list }}",
    "filter_select": "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} "
                     "{{ msgs|rejectattr('role', 'equalto', 'user')|list|length }} {{ [0, 1, 2, '', none]|select|list }} "
                     "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3, 4]|reject('even')|list }} "
                     "{{ msgs|selectattr('content')|list|length }} {{ ['a', 'b']|map('upper')|join }} "
                     "{{ msgs|map(attribute='missing', default='z')|list }} {{ [1, 2, 3]|select('gt', 1)|list }} "
                     "{{ ['x', 'y']|select('in', ['y'])|list }} {{ msgs|selectattr('role', 'eq', 'system')|first }} "
                     "{{ msgs|selectattr('role', '==', 'user')|list|length }} {{ ['a', 'bb']|map('replace', 'b', 'c')|list }} "
                     "{{ [{'f': {'n': 1}}, {'f': {'n': 2}}]|map(attribute='f.n')|list }} {{ [[1, 2], [3, 4]]|map(attribute='1')|list }} "
                     "{{ msgs|selectattr('role', 'in', ['system', 'assistant'])|map(attribute='role')|join('+') }} "
                     "{% if msgs|selectattr('role', 'equalto', 'nobody') %}generator-is-true{% endif %} "
                     "{{ msgs|selectattr('nokey', 'undefined')|list|length }} {{ msgs|selectattr('role', 'defined')|list|length }}",
    "filter_tojson": "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ 'é\"\\n\\t\\u0001\\\\/'|tojson }}|"
                     "{{ [1, 2.5, none, true, 'x']|tojson }}|{{ {'b': 1, 'a': [1, {'c': none}]}|tojson(sort_keys=true) }}|"
                     "{{ {'a': 1, 'b': [2]}|tojson(separators=[',', ':']) }}|{{ 'é'|tojson(ensure_ascii=true) }}|"
                     "{{ [[], {}]|tojson(indent=4) }}|{{ 1e20|tojson }}|{{ {'a': [1]}|tojson(indent='\\t') }}|"
                     "{{ 'emoji 🌍'|tojson(ensure_ascii=true) }}|{{ tools|tojson }}|{{ tools[0]|tojson(indent=4) }}|"
                     "{{ (1, 'two')|tojson }}|{{ m|tojson(indent=0) }}|{{ 0.1|tojson }}|{{ -0.0|tojson }}",
    "filter_items_range": "{{ d|items|list }} {{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} "
                          "{{ range(0)|list }} {{ m|items|list|length }} {% for k, v in {'z': 1, 'y': 2}|items %}{{ k }}{% endfor %}",
    # tests
    "tests_types": "{% set ns = namespace() %}{% for v in [u, none, true, false, 0, 1.5, 'a', [1], {'k': 1}, (1,), ns] %}"
                   "{{ v is defined }}{{ v is undefined }}{{ v is none }}{{ v is string }}{{ v is mapping }}"
                   "{{ v is iterable }}{{ v is sequence }}{{ v is number }}{{ v is integer }}{{ v is float }}"
                   "{{ v is boolean }}{{ v is true }}{{ v is false }}{{ v is callable }};{% endfor %}",
    "tests_values": "{{ 4 is divisibleby(2) }} {{ 3 is divisibleby 2 }} {{ 3 is odd }} {{ 3 is even }} {{ 'a' is in 'abc' }} "
                    "{{ 1 is eq 1 }} {{ 1 is ne 2 }} {{ 2 is gt 1 }} {{ 2 is ge 2 }} {{ 1 is lt 2 }} {{ 1 is le 0 }} "
                    "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aB' is lower }} {{ x is not none }} {{ not x is none }} "
                    "{{ none is sameas none }} {{ raise_exception is callable }} {{ raise_exception is defined }} "
                    "{{ (u.x is defined) if u is defined else 'skip' }} {{ m.role is equalto 'user' }} "
                    "{{ xs is sameas xs }} {{ 1 is number and 'a' is string }} {{ x is defined and x is not string }} "
                    "{{ tools is defined }} {{ documents is none }} {{ strftime_now is defined }}",
    # string methods
    "methods": "{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|"
               "{{ '\\n\\nx\\n'.lstrip('\\n') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|"
               "{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ ' a b  c '.split(none, 1) }}|"
               "{{ ' a b  c '.rsplit(none, 1) }}|{{ 'a<think>b</think>c'.split('</think>')[-1] }}|"
               "{{ 'abc'.startswith('a') }}{{ 'abc'.startswith(('x', 'ab')) }}{{ 'abc'.endswith('bc') }}|"
               "{{ 'Abc'.upper() }}{{ 'ÄBC'.lower() }}{{ 'hello wORLD'.title() }}{{ \"o'neil\".title() }}"
               "{{ 'hELLO'.capitalize() }}|{{ 'aXa'.replace('a', 'b') }}{{ 'aaa'.replace('a', '', 1) }}|"
               "{{ 'héllo'.find('l') }}{{ 'abc'.find('z') }}{{ 'hello'.rfind('l') }}{{ 'banana'.count('an') }}|"
               "{{ ', '.join(['a', 'b']) }}|{{ '123'.isdigit() }}{{ ' '.isspace() }}{{ 'abc'.isalpha() }}"
               "{{ 'abc'.islower() }}{{ 'ABC'.isupper() }}{{ ''.isdigit() }}|{{ 'prefix_x'.removeprefix('prefix_') }}"
               "{{ 'x_suffix'.removesuffix('_suffix') }}|{{ s.upper() }}|{{ m.content.upper() }}|"
               "{{ '\\u00a0x\\u3000'.strip() }}|{{ 'a\\tb\\nc'.split() }}|{{ 'ab'.split('b') }}|{{ ''.split(',') }}|"
               "{{ ''.split() }}|{{ 'aaa'.split('a', 1) }}|{{ 'a.b.c'.rsplit('.') }}",
    # undefined values that do not raise
    "undefined_quiet": "[{{ u }}]|{{ u|length }}|{{ u is defined }}|{% for x in u %}x{% endfor %}|{{ u|default('d') }}|"
                       "{{ 'a' ~ u ~ 'b' }}|{{ u == u }}|[{{ u|join }}]|[{{ m.nokey }}]|[{{ m['nokey'] }}]|"
                       "[{{ none.x }}]|[{{ xs[10] }}]|{% if u %}T{% else %}F{% endif %}|{{ u|list }}|"
                       "{{ u|items|list }}|[{{ u|first }}]|[{{ u|string }}]|[{{ u|trim }}]|{{ u is none }}|"
                       "{{ not u }}|[{{ u or '' }}]|{{ 'x' in u }}|[{{ 1.5.x }}]|[{{ 'str'.nope }}]",
}

SYNTHETIC_ERRORS = {  # templates that parse but raise while rendering
    "err_undefined_attr": "{{ u.x }}",
    "err_undefined_add": "{{ u + 1 }}",
    "err_str_plus_int": "{{ 'a' + 1 }}",
    "err_deep_missing": "{{ m.nokey.deeper }}",
    "err_div_zero": "{{ 1 / 0 }}",
    "err_floordiv_zero": "{{ 1 // 0 }}",
    "err_mod_zero": "{{ 1 % 0 }}",
    "err_generator_length": "{{ xs|select|length }}",
    "err_none_length": "{{ none|length }}",
    "err_compare_types": "{{ 1 < 'a' }}",
    "err_undefined_compare": "{{ u < 1 }}",
    "err_undefined_tojson": "{{ u|tojson }}",
    "err_undefined_index": "{{ u[0] }}",
    "err_raise": "{{ raise_exception('custom message: ' ~ x) }}",
    "err_raise_in_loop": "{% for m in msgs %}{% if m.role == 'assistant' %}{{ raise_exception('Bad role ' + m.role + ' at ' + loop.index|string) }}{% endif %}{% endfor %}",
    "err_raise_unicode": "{{ raise_exception('Ünïcode — message 🌍') }}",
    "err_empty_separator": "{{ 'abc'.split('') }}",
    "err_unpack": "{% set a, b = [1, 2, 3] %}",
    "err_not_namespace": "{% set x = 1 %}{% set x.y = 2 %}",
    "err_list_append": "{{ xs.append(1) }}",
    "err_call_undefined": "{{ u() }}",
    "err_in_none": "{{ 1 in none }}",
    "err_int_in_str": "{{ 5 in 'abc' }}",
    "err_neg_str": "{{ -'a' }}",
    "err_generator_last": "{{ xs|select|last }}",
    "err_items_not_mapping": "{{ xs|items|list }}",
    "err_iterate_int": "{% for i in 5 %}{% endfor %}",
    "err_macro_too_many_args": "{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}",
    "err_namespace_underscore": "{% set ns = namespace(_x=1) %}",
    "err_not_callable": "{{ x() }}",
    "err_slice_step_zero": "{{ xs[::0] }}",
}

SYNTAX_ERRORS = {  # templates Jinja refuses to parse
    "syntax_unclosed_if": "{% if x %}no end",
    "syntax_mismatched_end": "{% for x in xs %}{% endif %}",
    "syntax_dangling_operator": "{{ x + }}",
    "syntax_unterminated_string": "{{ 'unterminated }}",
    "syntax_stray_end": "{% endfor %}",
    "syntax_unknown_tag": "{% frobnicate %}",
    "syntax_unclosed_var": "{{ x ",
    "syntax_unclosed_comment": "{# never closed",
    "syntax_assign_literal": "{% set 1 = 2 %}",
    "syntax_unbalanced_paren": "{{ (1, 2 }}",
    "syntax_unexpected_bracket": "{{ x ] }}",
    "syntax_break_outside_loop": "{% break %}",
    "syntax_macro_default_order": "{% macro m(a=1, b) %}{% endmacro %}",
    "syntax_empty_expression": "{{ }}",
    "syntax_for_without_target": "{% for %}{% endfor %}",
    "syntax_if_without_test": "{% if %}{% endif %}",
    "syntax_unclosed_raw": "{% raw %}never ended",
    "syntax_else_twice": "{% if x %}{% else %}{% else %}{% endif %}",
    "syntax_bad_char": "{{ x $ y }}",
    "syntax_missing_in": "{% for x xs %}{% endfor %}",
    "syntax_chained_is": "{{ x is defined is defined }}",
    # Jinja reads a name after a test as its argument, so `if` here is the test's argument, not a condition.
    "syntax_test_then_if": "{{ x is defined if x else 'n' }}",
    "syntax_kwarg_then_positional": "{{ f(a=1, 2) }}",
    "syntax_continue_in_macro": "{% for x in xs %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}",
}


def synthetic_cases():
    cases = []
    for name, template in SYNTHETIC.items():
        for vname, variables in (("vars", V), ("falsy", V_FALSY)):
            cases.append((f"{name}/{vname}", name, variables))
    for name, template in SYNTHETIC_ERRORS.items():
        cases.append((f"{name}/vars", name, V))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "test/unit/chat/data/chat_template_ref.json"))
    args = ap.parse_args()

    templates = {name: t for name, (t, *_rest) in REAL.items()}
    templates.update(SYNTHETIC)
    templates.update(SYNTHETIC_ERRORS)
    cases = []
    variable_sets, index_of = [], {}  # each distinct variables object once; cases refer to it by index
    for name, template_name, variables in real_cases() + synthetic_cases():
        kind, text = render(templates[template_name], variables)
        key = json.dumps(variables, sort_keys=False)
        if key not in index_of:
            index_of[key] = len(variable_sets)
            variable_sets.append(variables)
        case = {"name": name, "template": template_name, "variables": index_of[key]}
        if kind == "output":
            case["output"] = text
        elif kind == "raise":
            case["raise"] = text
        else:
            case["error"] = text
        cases.append(case)
    syntax = []
    for name, template in SYNTAX_ERRORS.items():
        try:
            ENV.from_string(template)
        except (jinja2.exceptions.TemplateSyntaxError, SyntaxError) as e:  # SyntaxError: break outside a loop
            syntax.append({"name": name, "template": template, "error": f"{type(e).__name__}: {e}"})
            continue
        raise SystemExit(f"{name}: Jinja parsed it; it is not a syntax error")

    data = {"generator": "test/gen/chat_template_ref.py", "jinja2": jinja2.__version__,
            "checked_against_transformers": hf_compile is not None,
            "templates": templates, "variables": variable_sets, "cases": cases, "syntax_errors": syntax}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        # One case per line: diffs of regenerated data stay readable.
        f.write("{\n")
        keys = list(data)
        for i, key in enumerate(keys):
            value = data[key]
            f.write(json.dumps(key) + ": ")
            if isinstance(value, (list, dict)) and value:
                items = value.items() if isinstance(value, dict) else enumerate(value)
                f.write("{\n" if isinstance(value, dict) else "[\n")
                rows = [(json.dumps(k, ensure_ascii=False) + ": " if isinstance(value, dict) else "") +
                        json.dumps(v, ensure_ascii=False) for k, v in items]
                f.write(",\n".join(rows))
                f.write("\n}" if isinstance(value, dict) else "\n]")
            else:
                f.write(json.dumps(value, ensure_ascii=False))
            f.write(",\n" if i + 1 < len(keys) else "\n")
        f.write("}\n")
    n_raise = sum("raise" in c for c in cases)
    n_err = sum("error" in c for c in cases)
    print(f"{args.out}: {len(cases)} cases ({n_raise} raise_exception, {n_err} other errors), "
          f"{len(syntax)} syntax errors, {os.path.getsize(args.out)} bytes; "
          f"checked against transformers: {hf_compile is not None}")


if __name__ == "__main__":
    main()

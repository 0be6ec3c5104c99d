/*
 * JavaRosa engine driver for the form tests (see DRIVER_BRIEF.md and __init__.py beside this file).
 *
 * One long-lived process: reads one JSON request per line on stdin, writes one JSON report per
 * line on stdout. Each request loads the form afresh, fills it as an enumerator would in ODK
 * Collect (FormEntryController events, answerQuestion with constraint checking), then "saves as
 * finalized" (the walk of FormDef.validate, but collecting every failure) and serialises the
 * instance with XFormSerializingVisitor after FormEntryController.finalizeFormEntry.
 *
 * Compiled in the test session against pyxform's ODK_Validate.jar (JavaRosa + Jackson); it uses
 * nothing but that jar and the JDK. Nothing a request does may end the process: every request,
 * step and finalize question runs under its own catch, and engine exceptions are reported in the
 * "error" field.
 */

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.javarosa.core.model.Constants;
import org.javarosa.core.model.FormDef;
import org.javarosa.core.model.FormIndex;
import org.javarosa.core.model.GroupDef;
import org.javarosa.core.model.IFormElement;
import org.javarosa.core.model.QuestionDef;
import org.javarosa.core.model.SelectChoice;
import org.javarosa.core.model.data.AnswerDataFactory;
import org.javarosa.core.model.data.DateData;
import org.javarosa.core.model.data.DecimalData;
import org.javarosa.core.model.data.GeoPointData;
import org.javarosa.core.model.data.IAnswerData;
import org.javarosa.core.model.data.IntegerData;
import org.javarosa.core.model.data.LongData;
import org.javarosa.core.model.data.MultipleItemsData;
import org.javarosa.core.model.data.SelectMultiData;
import org.javarosa.core.model.data.SelectOneData;
import org.javarosa.core.model.data.StringData;
import org.javarosa.core.model.data.UncastData;
import org.javarosa.core.model.data.helper.Selection;
import org.javarosa.core.model.instance.DataInstance;
import org.javarosa.core.model.instance.FormInstance;
import org.javarosa.core.model.instance.InstanceInitializationFactory;
import org.javarosa.core.model.instance.TreeElement;
import org.javarosa.core.model.instance.TreeReference;
import org.javarosa.core.model.utils.DateUtils;
import org.javarosa.core.services.locale.Localizer;
import org.javarosa.form.api.FormEntryCaption;
import org.javarosa.form.api.FormEntryController;
import org.javarosa.form.api.FormEntryModel;
import org.javarosa.form.api.FormEntryPrompt;
import org.javarosa.model.xform.XFormSerializingVisitor;
import org.javarosa.model.xform.XFormsModule;
import org.javarosa.xform.util.XFormUtils;

public final class JavaRosaDriver {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Events walked for one step or for finalize before giving up (a runaway loop guard). */
    private static final int MAX_EVENTS = 200_000;

    private static final Pattern SEGMENT = Pattern.compile("([^\\[\\]/]+)(?:\\[(\\d+)])?");
    private static final Pattern INTEGER = Pattern.compile("[-+]?\\d+");
    private static final Pattern DECIMAL = Pattern.compile("[-+]?(\\d+\\.?\\d*|\\.\\d+)");
    private static final Pattern ISO_DATE = Pattern.compile("\\d{4}-\\d{2}-\\d{2}");

    public static void main(String[] args) throws Exception {
        // The protocol owns the real stdout; anything the engine prints goes to stderr.
        PrintStream protocol =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err);
        new XFormsModule().registerModule();

        BufferedReader in =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.trim().isEmpty()) {
                continue;
            }
            String out;
            try {
                out = JSON.writeValueAsString(handle(line));
            } catch (Throwable t) { // even a failure to build the report must not end the process
                out = "{\"steps\":[],\"required_missing\":[],\"constraint_violations\":[],"
                    + "\"complete\":false,\"xml\":\"\",\"error\":"
                    + JSON.writeValueAsString("driver: " + describe(t)) + "}";
            }
            protocol.println(out);
            protocol.flush();
        }
    }

    private static ObjectNode handle(String line) {
        ObjectNode report = JSON.createObjectNode();
        ArrayNode steps = report.putArray("steps");
        ArrayNode missing = report.putArray("required_missing");
        ArrayNode violations = report.putArray("constraint_violations");
        report.put("complete", false);
        report.put("xml", "");
        report.putNull("error");
        List<String> errors = new ArrayList<>();
        try {
            JsonNode request = JSON.readTree(line);
            String form = request.path("form").asText("");
            if (form.isEmpty()) {
                throw new IllegalArgumentException("request has no \"form\"");
            }
            Session session = new Session(form);
            for (JsonNode step : request.path("steps")) {
                String path = step.path(0).asText("");
                JsonNode raw = step.path(1);
                String value = raw.isMissingNode() || raw.isNull() ? "" : raw.asText();
                steps.add(session.step(path, value, errors));
            }
            session.finalizeForm(missing, violations, errors);
            report.put("complete", missing.size() == 0 && violations.size() == 0);
            report.put("xml", session.serialize());
        } catch (Throwable t) {
            errors.add(describe(t));
        }
        if (!errors.isEmpty()) {
            report.put("error", String.join("\n", errors));
        }
        return report;
    }

    static String describe(Throwable t) {
        String message = t.getMessage();
        String text = t.getClass().getName() + (message == null ? "" : ": " + message);
        Throwable cause = t.getCause();
        if (cause != null && cause != t) {
            String cm = cause.getMessage();
            text += " (caused by " + cause.getClass().getName() + (cm == null ? "" : ": " + cm) + ")";
        }
        return text;
    }

    /** A value that is not of the question's type (status invalid_value). */
    static class InvalidValue extends Exception {
        private static final long serialVersionUID = 1L;

        InvalidValue(String message) {
            super(message);
        }
    }

    /** A select value naming a choice not offered now (status choice_not_offered). */
    static final class NotOffered extends InvalidValue {
        private static final long serialVersionUID = 1L;

        NotOffered(String message) {
            super(message);
        }
    }

    /** One form being filled: the FormDef, its controller, and what the form structure is. */
    static final class Session {
        final FormDef formDef;
        final FormEntryModel model;
        final FormEntryController controller;
        final String rootName;
        /** Generic paths ("/data/g/rep") of repeats and of questions (controls with a bind). */
        final Set<String> repeats = new HashSet<>();
        final Map<String, QuestionDef> questions = new HashMap<>();

        Session(String formPath) throws Exception {
            File file = new File(formPath);
            if (!file.isFile()) {
                throw new IllegalArgumentException("no form file " + formPath);
            }
            try (InputStream stream = new FileInputStream(file)) {
                // As Collect's FormLoaderTask: parse, then initialize a new instance.
                formDef = XFormUtils.getFormFromInputStream(stream);
            }
            formDef.setFormXmlPath(file.getAbsolutePath());
            formDef.initialize(true, new InstanceInitializationFactory());
            model = new FormEntryModel(formDef);
            controller = new FormEntryController(model);
            Localizer localizer = formDef.getLocalizer();
            if (localizer != null && localizer.getDefaultLocale() != null) {
                controller.setLanguage(localizer.getDefaultLocale());
            }
            rootName = formDef.getMainInstance().getRoot().getName();
            index(formDef);
        }

        private void index(IFormElement element) {
            List<IFormElement> children = element.getChildren();
            if (children == null) {
                return;
            }
            for (IFormElement child : children) {
                if (child instanceof GroupDef && ((GroupDef) child).getRepeat()) {
                    TreeReference ref = DataInstance.unpackReference(child.getBind());
                    repeats.add(genericPath(ref, ref.size()));
                } else if (child instanceof QuestionDef && child.getBind() != null) {
                    TreeReference ref = DataInstance.unpackReference(child.getBind());
                    questions.put(genericPath(ref, ref.size()), (QuestionDef) child);
                }
                index(child);
            }
        }

        /** "/data/a/b" for the first `levels` levels of ref, without multiplicities. */
        static String genericPath(TreeReference ref, int levels) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < levels; i++) {
                b.append('/').append(ref.getName(i));
            }
            return b.toString();
        }

        /** The protocol's path for an instance reference: no root, [n] (1-based) on repeats. */
        String pathOf(TreeReference ref) {
            StringBuilder b = new StringBuilder();
            StringBuilder generic = new StringBuilder();
            for (int i = 0; i < ref.size(); i++) {
                generic.append('/').append(ref.getName(i));
                if (i == 0) {
                    continue;
                }
                if (b.length() > 0) {
                    b.append('/');
                }
                b.append(ref.getName(i));
                if (repeats.contains(generic.toString())) {
                    b.append('[').append(ref.getMultiplicity(i) + 1).append(']');
                }
            }
            return b.toString();
        }

        /** A requested path, parsed. Null names when it is malformed. */
        static final class Target {
            final List<String> names = new ArrayList<>();
            final List<Integer> indexes = new ArrayList<>(); // 1-based, or 0 for none given
            boolean wellFormed = true;
            String generic;
        }

        Target parse(String path) {
            Target t = new Target();
            StringBuilder generic = new StringBuilder("/").append(rootName);
            if (path.isEmpty()) {
                t.wellFormed = false;
                return t;
            }
            for (String segment : path.split("/", -1)) {
                Matcher m = SEGMENT.matcher(segment);
                if (!m.matches()) {
                    t.wellFormed = false;
                    return t;
                }
                int index = 0;
                if (m.group(2) != null) {
                    try {
                        index = Integer.parseInt(m.group(2));
                    } catch (NumberFormatException e) {
                        index = -1;
                    }
                    if (index < 1) {
                        t.wellFormed = false;
                        return t;
                    }
                }
                generic.append('/').append(m.group(1));
                // The convention: an index on a repeat's segment, and only there.
                if (repeats.contains(generic.toString()) != (index > 0)) {
                    t.wellFormed = false;
                    return t;
                }
                t.names.add(m.group(1));
                t.indexes.add(index);
            }
            t.generic = generic.toString();
            return t;
        }

        /**
         * Whether, at a new-repeat prompt for `ref` (the instance that would be created), the
         * target lies in that instance or a later one of the same repeat.
         */
        boolean wantsNewRepeat(Target t, TreeReference ref) {
            int depth = ref.size() - 1; // target level of the repeat (target has no root)
            if (t.names.size() <= depth) {
                return false;
            }
            StringBuilder generic = new StringBuilder("/").append(rootName);
            for (int i = 1; i < ref.size(); i++) {
                String name = ref.getName(i);
                generic.append('/').append(name);
                if (!name.equals(t.names.get(i - 1))) {
                    return false;
                }
                boolean repeat = repeats.contains(generic.toString());
                int wanted = t.indexes.get(i - 1);
                int here = ref.getMultiplicity(i) + 1;
                if (i < ref.size() - 1) {
                    if (repeat && wanted != here) {
                        return false;
                    }
                } else if (!repeat || wanted < here) {
                    return false;
                }
            }
            return true;
        }

        ObjectNode step(String path, String value, List<String> errors) {
            ObjectNode out = JSON.createObjectNode();
            out.put("path", path);
            out.put("value", value);
            out.put("status", "no_such_question");
            out.putNull("message");
            out.putNull("choices");
            try {
                Target target = parse(path);
                if (!target.wellFormed || !questions.containsKey(target.generic)) {
                    return out; // unknown, a group, a calculate, or indexes off the repeats
                }
                FormIndex found = navigate(target, path);
                if (found == null) {
                    out.put("status", notReachedStatus(target));
                    return out;
                }
                answer(found, value, out);
            } catch (Throwable t) {
                // An engine failure (e.g. an XPath it cannot evaluate): Collect shows an error and
                // keeps nothing, so the value is not kept; report it and go on with the next step.
                out.put("status", "constraint");
                out.put("message", describe(t));
                errors.add(path + ": " + describe(t));
            }
            return out;
        }

        /**
         * Walk the events from the start of the form as Collect does (the engine skips what is not
         * relevant), adding the repeat instances the target needs, until the target question.
         * Questions passed on the way are only stepped over, as with Collect's jump from the
         * hierarchy view: nothing of theirs is shown, so nothing of theirs is re-evaluated.
         */
        FormIndex navigate(Target target, String path) {
            controller.jumpToIndex(FormIndex.createBeginningOfFormIndex());
            for (int n = 0; n < MAX_EVENTS; n++) {
                int event = controller.stepToNextEvent();
                if (event == FormEntryController.EVENT_END_OF_FORM) {
                    return null;
                }
                FormIndex index = model.getFormIndex();
                if (event == FormEntryController.EVENT_QUESTION) {
                    if (path.equals(pathOf(index.getReference()))) {
                        return index;
                    }
                } else if (event == FormEntryController.EVENT_PROMPT_NEW_REPEAT) {
                    if (wantsNewRepeat(target, index.getReference())) {
                        controller.newRepeat(index);
                    }
                }
            }
            throw new IllegalStateException("navigation did not end after " + MAX_EVENTS + " events");
        }

        /** The question exists but was not reached: not relevant, unless it is a note. */
        String notReachedStatus(Target target) {
            TreeElement node = formDef.getMainInstance().getRoot();
            for (int i = 0; i < target.names.size() && node != null; i++) {
                int index = target.indexes.get(i);
                node = node.getChild(target.names.get(i), index > 0 ? index - 1 : 0);
            }
            if (node == null) {
                // The repeat instance does not exist (its repeat or a parent is not relevant, or
                // it cannot be added): judge by the template's bind.
                TreeReference generic = TreeReference.rootRef();
                generic.add(rootName, TreeReference.INDEX_UNBOUND);
                for (String name : target.names) {
                    generic.add(name, TreeReference.INDEX_UNBOUND);
                }
                node = formDef.getMainInstance().getTemplatePath(generic);
            }
            if (node != null && !node.isEnabled()) {
                return "no_such_question"; // read-only: a note, not a question
            }
            return "not_relevant";
        }

        void answer(FormIndex index, String value, ObjectNode out) {
            FormEntryPrompt prompt = model.getQuestionPrompt(index);
            if (prompt.isReadOnly()) {
                out.put("message", "read-only (a note), not a question");
                return; // status stays no_such_question
            }
            int control = prompt.getControlType();
            List<SelectChoice> choices = null;
            if (control == Constants.CONTROL_SELECT_ONE || control == Constants.CONTROL_SELECT_MULTI
                || control == Constants.CONTROL_RANK) {
                choices = prompt.getSelectChoices();
                ArrayNode names = out.putArray("choices");
                if (choices != null) {
                    for (SelectChoice c : choices) {
                        names.add(c.getValue());
                    }
                }
            }
            if (value.isEmpty()) {
                // Clearing a widget: Collect saves the empty answer without validating it.
                controller.saveAnswer(index, null, true);
                out.put("status", "answered");
                return;
            }
            IAnswerData data;
            try {
                data = toAnswer(prompt, choices, value);
            } catch (InvalidValue e) {
                out.put("status", e instanceof NotOffered ? "choice_not_offered" : "invalid_value");
                out.put("message", e.getMessage());
                return;
            }
            // As Collect moving on from the question's screen (JavaRosaFormController
            // .saveOneScreenAnswer, constraint behaviour "on swipe", the default): answerQuestion
            // with constraints on. On its own screen the widget's value was not saved before, so a
            // refused value never reaches the instance, and a constraint message whose <output>
            // reads the instance (a calculate of the question's own value, say) is worded from the
            // value stored before. On a field-list screen Collect has already saved the value,
            // unchecked, as it changed (updateFieldListQuestions): the message then sees it, and a
            // refused value stays in the instance, as it does there.
            if (inFieldList(index)) {
                controller.saveAnswer(index, data, true);
            }
            int result = controller.answerQuestion(index, data, true);
            if (result == FormEntryController.ANSWER_OK) {
                out.put("status", "answered");
            } else if (result == FormEntryController.ANSWER_CONSTRAINT_VIOLATED) {
                out.put("status", "constraint");
                String text = model.getQuestionPrompt(index).getConstraintText();
                if (text == null) {
                    out.putNull("message");
                } else {
                    out.put("message", text);
                }
            } else { // ANSWER_REQUIRED_BUT_EMPTY: cannot happen for a non-null answer
                out.put("status", "invalid_value");
                out.put("message", "engine answered " + result);
            }
        }

        /** As Collect's indexIsInFieldList: the question's own group is a field-list screen. */
        boolean inFieldList(FormIndex index) {
            FormEntryCaption[] captions = model.getCaptionHierarchy(index);
            if (captions.length < 2) {
                return false;
            }
            IFormElement group = captions[captions.length - 2].getFormElement();
            String appearance = group instanceof GroupDef ? group.getAppearanceAttr() : null;
            if (appearance == null) {
                return false;
            }
            appearance = appearance.toLowerCase(java.util.Locale.ROOT);
            return appearance.contains("field-list") || appearance.contains("table-list");
        }

        /** The typed answer a Collect widget would hand to answerQuestion for this text. */
        static IAnswerData toAnswer(FormEntryPrompt prompt, List<SelectChoice> choices, String value)
            throws InvalidValue {
            int control = prompt.getControlType();
            if (control == Constants.CONTROL_SELECT_ONE) {
                SelectChoice choice = findChoice(choices, value.trim());
                return new SelectOneData(choice.selection());
            }
            if (control == Constants.CONTROL_SELECT_MULTI || control == Constants.CONTROL_RANK) {
                Set<String> wanted = new LinkedHashSet<>();
                for (String name : value.trim().split("\\s+")) {
                    findChoice(choices, name); // every name must be offered
                    wanted.add(name);
                }
                List<Selection> selections = new ArrayList<>();
                if (control == Constants.CONTROL_RANK) { // a ranking: in the order given
                    for (String name : wanted) {
                        selections.add(findChoice(choices, name).selection());
                    }
                    return new MultipleItemsData(selections);
                }
                for (SelectChoice c : choices) { // in the choices' order, as the widget answers
                    if (wanted.contains(c.getValue())) {
                        selections.add(c.selection());
                    }
                }
                return new SelectMultiData(selections);
            }
            String v = value.trim();
            switch (prompt.getDataType()) {
                case Constants.DATATYPE_TEXT:
                case Constants.DATATYPE_BARCODE:
                case Constants.DATATYPE_BINARY: // upload widgets answer with the file name
                case Constants.DATATYPE_NULL:
                case Constants.DATATYPE_UNSUPPORTED:
                    return new StringData(value);
                case Constants.DATATYPE_INTEGER:
                    if (!INTEGER.matcher(v).matches()) {
                        throw new InvalidValue("not an integer: " + value);
                    }
                    try {
                        return new IntegerData(Integer.parseInt(v));
                    } catch (NumberFormatException e) {
                        throw new InvalidValue("integer out of range: " + value);
                    }
                case Constants.DATATYPE_LONG:
                    if (!INTEGER.matcher(v).matches()) {
                        throw new InvalidValue("not an integer: " + value);
                    }
                    try {
                        return new LongData(Long.parseLong(v));
                    } catch (NumberFormatException e) {
                        throw new InvalidValue("integer out of range: " + value);
                    }
                case Constants.DATATYPE_DECIMAL:
                    if (!DECIMAL.matcher(v).matches()) {
                        throw new InvalidValue("not a decimal: " + value);
                    }
                    return new DecimalData(Double.parseDouble(v));
                case Constants.DATATYPE_DATE:
                    if (!ISO_DATE.matcher(v).matches()) {
                        throw new InvalidValue("not a date (YYYY-MM-DD): " + value);
                    }
                    try {
                        LocalDate.parse(v);
                    } catch (DateTimeParseException e) {
                        throw new InvalidValue("not a date: " + value);
                    }
                    return new DateData(DateUtils.parseDate(v));
                case Constants.DATATYPE_GEOPOINT:
                    return geopoint(v);
                default:
                    IAnswerData template = AnswerDataFactory.templateByDataType(prompt.getDataType());
                    if (template == null) {
                        return new StringData(value);
                    }
                    try {
                        IAnswerData cast = template.cast(new UncastData(v));
                        if (cast == null) {
                            throw new InvalidValue("not a valid value: " + value);
                        }
                        return cast;
                    } catch (RuntimeException e) {
                        throw new InvalidValue("not a valid value: " + value + " (" + describe(e) + ")");
                    }
            }
        }

        static SelectChoice findChoice(List<SelectChoice> choices, String name) throws InvalidValue {
            if (choices != null) {
                for (SelectChoice c : choices) {
                    if (c.getValue().equals(name)) {
                        return c;
                    }
                }
            }
            throw new NotOffered("not offered now: " + name);
        }

        static GeoPointData geopoint(String v) throws InvalidValue {
            String[] parts = v.split("\\s+");
            if (parts.length < 2 || parts.length > 4) {
                throw new InvalidValue("not a geopoint (lat lon [alt [acc]]): " + v);
            }
            double[] gp = new double[4];
            for (int i = 0; i < parts.length; i++) {
                if (!DECIMAL.matcher(parts[i]).matches()) {
                    throw new InvalidValue("not a geopoint (lat lon [alt [acc]]): " + v);
                }
                gp[i] = Double.parseDouble(parts[i]);
            }
            if (Math.abs(gp[0]) > 90 || Math.abs(gp[1]) > 180 || gp[3] < 0) {
                throw new InvalidValue("geopoint out of range: " + v);
            }
            return new GeoPointData(gp);
        }

        /**
         * "Save as finalized": the sweep of FormDef.validate (every relevant question re-answered
         * with its current value, constraints on), but collecting every failure instead of
         * stopping at the first; then the engine's end-of-form processing.
         */
        void finalizeForm(ArrayNode missing, ArrayNode violations, List<String> errors) {
            controller.jumpToIndex(FormIndex.createBeginningOfFormIndex());
            for (int n = 0; ; n++) {
                if (n >= MAX_EVENTS) {
                    errors.add("finalize: did not reach the end after " + MAX_EVENTS + " events");
                    break;
                }
                int event;
                try {
                    event = controller.stepToNextEvent();
                } catch (Throwable t) {
                    errors.add("finalize: " + describe(t));
                    break;
                }
                if (event == FormEntryController.EVENT_END_OF_FORM) {
                    break;
                }
                if (event != FormEntryController.EVENT_QUESTION) {
                    continue;
                }
                FormIndex index = model.getFormIndex();
                String path = pathOf(index.getReference());
                try {
                    FormEntryPrompt prompt = model.getQuestionPrompt(index);
                    int result = controller.answerQuestion(index, prompt.getAnswerValue(), false);
                    if (result == FormEntryController.ANSWER_REQUIRED_BUT_EMPTY) {
                        missing.add(path);
                    } else if (result == FormEntryController.ANSWER_CONSTRAINT_VIOLATED) {
                        ObjectNode v = violations.addObject();
                        v.put("path", path);
                        v.put("message", model.getQuestionPrompt(index).getConstraintText());
                    }
                } catch (Throwable t) {
                    errors.add("finalize " + path + ": " + describe(t));
                }
            }
            try {
                controller.finalizeFormEntry(); // FormDef.postProcessInstance: end, etc.
            } catch (Throwable t) {
                errors.add("finalize: " + describe(t));
            }
        }

        String serialize() throws Exception {
            FormInstance instance = formDef.getInstance();
            byte[] bytes = new XFormSerializingVisitor().serializeInstance(instance);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
